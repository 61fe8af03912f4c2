"""Where the patterns come from: async Redis implementations over the app's one client.

Endpoints only see the abstract types. To run them on something else (the in-memory twin in
tests), override these two dependencies: ``app.dependency_overrides[get_repository] = ...``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from assimilator_stack import (
    AsyncRedisRepository,
    AsyncRedisUnitOfWork,
    AsyncRepository,
    AsyncUnitOfWork,
)

from .models import Product


def get_repository(request: Request) -> AsyncRepository[Product]:
    # One repository object per request is cheap: index state is kept per connection pool.
    return AsyncRedisRepository(session=request.app.state.redis, model=Product)


def get_uow(request: Request) -> AsyncUnitOfWork[Product]:
    return AsyncRedisUnitOfWork(repository=AsyncRedisRepository(
        session=request.app.state.redis, model=Product))


Products = Annotated[AsyncRepository[Product], Depends(get_repository)]
Transaction = Annotated[AsyncUnitOfWork[Product], Depends(get_uow)]
