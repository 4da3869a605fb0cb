"""Benchmarks: `make bench` (bench.py), the demo timing and the soak run."""
