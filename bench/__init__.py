"""Benchmarks: assimilator_stack against raw redis-py, redis-om and py-assimilator.

Run ``python -m bench`` from the repository root; see ``python -m bench --help``.
"""
