"""Talking to gateways: the HTTP client and its transport, pacing, the plan, the saves, the
prune, the journal, and the job that runs them."""
