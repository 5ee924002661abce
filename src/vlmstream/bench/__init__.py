"""Benchmarks: the engine beside the naive baseline, in the same run, with reports and plots.

See docs/bench.md. Entry point: ``vlmstream bench`` (``bench/cli.py``).
"""
