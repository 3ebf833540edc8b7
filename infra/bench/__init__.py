"""`make bench`: a seeded sample of Olist checkouts through the local runtime, with throughput, latency and cost."""
