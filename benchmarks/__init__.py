"""Benchmarks of SPEC §9: a synthetic library generator and `python -m benchmarks.run`."""
