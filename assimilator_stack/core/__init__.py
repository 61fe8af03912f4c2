"""Patterns independent of Redis: filter tree, specifications, LazyCommand, abstract
Repository and UnitOfWork."""
