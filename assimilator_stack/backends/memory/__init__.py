"""The in-memory twin: a dict-backed repository and unit of work that evaluate specifications
in Python with the same meaning as Redis."""
