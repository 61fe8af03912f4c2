"""One worker per contender; each runs inside that contender's own virtual environment."""
