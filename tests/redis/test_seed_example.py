"""The seed document's example (README Quickstart), as written apart from the imports and the
email its create_user leaves out, on the real server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from assimilator_stack import (
    InvalidQueryError,
    RedisModel,
    RedisRepository,
    RedisUnitOfWork,
    Repository,
    UnitOfWork,
)

ROOT = Path(__file__).resolve().parents[2]
NEEDS_QUERY_ENGINE = "not supported by this build"


# models.py
class User(RedisModel):
    username: str
    email: str
    balance: float


def xfail_without_query_engine(exc: InvalidQueryError) -> None:
    """Filtering on fields other than id is issue 3 (the query engine). Until that is in this
    tree, the repository refuses with this message; anything else is a real failure."""
    if NEEDS_QUERY_ENGINE in str(exc):
        pytest.xfail(f"needs query engine (issue 3): {exc}")
    raise exc


def test_seed_example(redis_client: redis.Redis) -> None:
    # dependencies.py
    database = redis_client

    def get_repository() -> RedisRepository[User]:
        return RedisRepository(session=database, model=User)

    def get_uow() -> RedisUnitOfWork:
        return RedisUnitOfWork(repository=get_repository())

    # services: depend on the abstract patterns
    def create_user(uow: UnitOfWork) -> User:
        with uow:
            repository = uow.repository
            new_user: User = repository.save(
                username="Andrey", email="andrey@example.com", balance=1000
            )
            # nothing is written before commit
            assert redis_client.dbsize() == 0
            uow.commit()
        return new_user

    def get_user(repository: Repository[User]) -> User:
        user: User = repository.get(repository.specs.filter(username="Andrey"))
        return user

    created_user = create_user(get_uow())
    assert isinstance(created_user, User)
    assert (created_user.username, created_user.email, created_user.balance) == (
        "Andrey", "andrey@example.com", 1000.0)
    assert redis_client.exists(f"User:{created_user.id}") == 1
    # the part that needs only ids works now
    by_id = get_repository().get(get_repository().specs.filter(id=created_user.id))
    assert by_id == created_user

    get_repository().save(username="Someone", email="s@example.com", balance=1)
    try:
        user = get_user(get_repository())
    except InvalidQueryError as exc:
        xfail_without_query_engine(exc)
    assert user == created_user


def test_seed_without_email_is_a_clear_validation_error(redis_client: redis.Redis) -> None:
    # the seed's create_user leaves out the email its User requires
    repository = RedisRepository(session=redis_client, model=User)
    with pytest.raises(ValueError, match="email"):
        repository.save(username="Andrey", balance=1000)
    assert redis_client.dbsize() == 0


def test_seed_custom_id(redis_client: redis.Redis) -> None:
    entity = User(username="Andrey", email="a@b.c", balance=1, id="custom-id")
    RedisRepository(session=redis_client, model=User).save(entity)
    assert redis_client.exists("User:custom-id") == 1


@pytest.mark.skipif(not (ROOT / "examples" / "demo.py").exists(), reason="no examples/demo.py")
def test_demo_script_runs(redis_stack_url: str, redis_client: redis.Redis) -> None:
    env = {**os.environ, "REDIS_URL": redis_stack_url}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py")],
        env=env, capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    if done.returncode != 0 and NEEDS_QUERY_ENGINE in done.stderr:
        pytest.xfail("needs query engine (issue 3): examples/demo.py filters by username")
    assert done.returncode == 0, done.stderr
    assert "Andrey" in done.stdout
