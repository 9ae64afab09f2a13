"""Background jobs: the queue helper, the worker command and periodic sweeps."""
