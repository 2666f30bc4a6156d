"""Benchmarks for sip-import: ``make bench`` (``python -m benchmarks.run``) rewrites RESULTS.md."""
