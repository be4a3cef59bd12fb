"""Benchmarks of the ledger: posting throughput (W2) and balance reads (W5).

Run with `python -m bench.run` (or `clearhouse bench`); see bench/run.py.
"""
