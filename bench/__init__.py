"""Benchmarks: assimilator_stack against raw redis-py, redis-om and py-assimilator.

Run ``python -m bench`` from the repository root; see ``python -m bench --help``. The CPU a
call costs without I/O (library against the leanest raw redis-py, on replayed replies):
``python -m bench.cpu`` (see ``bench/cpu.py``).
"""
