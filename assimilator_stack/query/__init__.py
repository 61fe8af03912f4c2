"""The meaning of a query: the filter tree, the lookups, and its two readings (redisearch.py
compiles it to RediSearch syntax; python.py evaluates it on entities). Imports no backend."""
