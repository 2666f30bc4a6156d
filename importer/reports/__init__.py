"""What a run writes: results.csv, rejections.csv/.xlsx, summary.json, the template and
the gateway's export."""
