"""The Redis side: a sans-I/O core (plans that yield commands), the repository methods written
once over it (base.py), and the drivers that run the plans (driver.py; async: aio/driver.py)."""
