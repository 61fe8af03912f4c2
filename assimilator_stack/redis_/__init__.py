"""The Redis side: a sans-I/O core (plans that yield commands) and thin sync drivers."""
