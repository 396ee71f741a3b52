"""Benchmarks and calibrations, each run as `python -m bot.bench.<name>`; they write docs/BENCHMARKS.md."""
