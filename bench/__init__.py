"""Benchmarks and the routing simulator; never imported by the app."""
