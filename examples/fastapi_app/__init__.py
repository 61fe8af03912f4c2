"""A small product-catalogue service on FastAPI: the async patterns over Redis Stack.

    REDIS_URL=redis://localhost:6379 uvicorn examples.fastapi_app.app:app

The endpoints depend only on the abstract AsyncRepository / AsyncUnitOfWork; dependencies.py
hands them the Redis implementations, and tests swap in the in-memory twin.
"""
