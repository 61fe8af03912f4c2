"""The seed document's example on an embedded Redis Stack server (or on REDIS_URL).

    python examples/demo.py
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from redis import Redis

from assimilator_stack import (
    RedisModel,
    RedisRepository,
    RedisUnitOfWork,
    Repository,
    UnitOfWork,
)


# models.py
class User(RedisModel):
    username: str
    email: str
    balance: float


# dependencies.py
database: Redis


def get_repository() -> RedisRepository[User]:
    return RedisRepository(session=database, model=User)


def get_uow() -> RedisUnitOfWork[User]:
    return RedisUnitOfWork(repository=get_repository())


# services: they depend on the abstract Repository / UnitOfWork only.
def create_user(uow: UnitOfWork[User]) -> User:
    with uow:
        repository = uow.repository
        new_user = repository.save(
            username="Andrey", email="andrey@example.com", balance=1000
        )
        uow.commit()
    return new_user


def get_user(repository: Repository[User]) -> User:
    return repository.get(repository.specs.filter(username="Andrey"))


@contextmanager
def redis_server() -> Iterator[str]:
    """REDIS_URL if set, else a private embedded Redis Stack server."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    from assimilator_stack.testing import RedisStackServer

    with RedisStackServer() as server:
        yield server.url


def main() -> None:
    global database
    with redis_server() as url:
        database = Redis.from_url(url)
        created = create_user(get_uow())
        print("created:", created)
        found = get_user(get_repository())
        print("found:  ", found)
        assert found == created
        repository = get_repository()
        print("count:  ", repository.count())
        database.close()


if __name__ == "__main__":
    main()
