"""Benchmarks of README "Performance": a synthetic library generator and
`python -m benchmarks.run`."""
