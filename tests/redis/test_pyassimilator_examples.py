"""PyAssimilator's own Redis examples (``examples/simple_database`` and
``examples/complex_database`` in knucklesuganda/py_assimilator) and its "adaptive
specifications" tutorial snippet, step by step: the same models and the same calls, written
here (their code is not copied), with the answers checked. Against the real server (sync and
async) and the in-memory twin.

Only their imports differ: ``assimilator.core.database`` / ``assimilator.redis_.database`` /
``assimilator.internal.database`` -> ``assimilator_stack`` (``eq`` and ``find_attribute``:
``assimilator_stack.core.operators``). Their ``dependencies.py`` builds units of work with
PyAssimilator's provider registry (``create_uow(provider=...)``), which is not part of the
seed API: the units of work are made as the seed's ``dependencies.py`` makes them.
What each step needed (issue 9): reading ``user.email`` and ``update(user)`` of an entity read
with ``only(...)`` (deferred loading), ``only("balances.currency", "balances.balance")``
(item 10), ``order("balances.balance")`` (item 11), ``eq`` / ``find_attribute``
(assimilator_stack.core.operators).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import pytest
import redis

from assimilator_stack import (
    AsyncInternalRepository,
    AsyncInternalUnitOfWork,
    AsyncRedisRepository,
    AsyncRedisUnitOfWork,
    InternalRepository,
    InternalUnitOfWork,
    LazyCommand,
    NotFoundError,
    RedisModel,
    RedisRepository,
    RedisUnitOfWork,
    Repository,
    UnitOfWork,
    filter_,
    join,
    only,
    order,
    paginate,
)
from assimilator_stack.core.operators import eq, find_attribute
from tests.support.sync_facade import LoopBridge, SyncFacade

KINDS = ["redis-sync", "redis-async", "twin-sync"]


def uow_factory(kind: str, client: redis.Redis, bridge: LoopBridge | None,
                model: type[Any]) -> Callable[[], Any]:
    session: dict[str, Any] = {}

    def get_uow() -> Any:
        if kind == "redis-sync":
            return RedisUnitOfWork(RedisRepository(client, model))
        if kind == "twin-sync":
            return InternalUnitOfWork(InternalRepository(session, model))
        assert bridge is not None
        if kind == "redis-async":
            inner = AsyncRedisUnitOfWork(AsyncRedisRepository(bridge.twin(client), model))
        else:
            inner = AsyncInternalUnitOfWork(AsyncInternalRepository(session, model))
        return SyncFacade(inner, bridge)

    return get_uow


# -- examples/simple_database --------------------------------------------------------------


class InternalUser(RedisModel):  # their models.py: BaseModel of PyAssimilator
    username: str
    email: str
    balance: float = 0


class RedisUser(RedisModel):
    username: str
    email: str
    balance: float = 0


def read_user(username: str, repository: Repository) -> Any:
    return repository.get(filter_(username=username, email="python.on.papyrus@gmail.com"))


@pytest.mark.parametrize("kind", KINDS)
def test_simple_database_example(kind: str, client: redis.Redis,
                                 request: pytest.FixtureRequest) -> None:
    bridge = request.getfixturevalue("bridge") if "async" in kind else None
    get_uow = uow_factory(kind, client, bridge, RedisUser)
    User = RedisUser  # their dependencies.py picks the model

    uow: UnitOfWork = get_uow()  # create_user__kwargs
    with uow:
        uow.repository.save(username="Andrey", email="python.on.papyrus@gmail.com",
                            balance=1000)
        uow.commit()
    uow = get_uow()  # create_user_model
    with uow:
        uow.repository.save(User(username="Andrey-2", email="python.on.papyrus@gmail.com",
                                 balance=2000))
        uow.commit()

    assert read_user("Andrey", get_uow().repository).balance == 1000
    # read_user_direct: PyAssimilator's find_attribute(operator.eq, 'username', ...)
    direct = get_uow().repository.get(filter_(find_attribute(operator.eq, "username",
                                                             "Andrey-2")))
    assert direct.balance == 2000

    uow = get_uow()  # update_user
    with uow:
        user = uow.repository.get(filter_(username="Andrey"))
        user.balance += 1000
        uow.repository.update(user)
        uow.commit()
    assert read_user("Andrey", get_uow().repository).balance == 2000

    second_user = read_user("Andrey-2", get_uow().repository)  # update_user_direct
    uow = get_uow()
    with uow:
        second_user.balance += 1000
        uow.repository.update(second_user)
        uow.commit()
    assert read_user("Andrey-2", get_uow().repository).balance == 3000

    with pytest.raises(ZeroDivisionError):  # create_users_error: changes are discarded
        uow = get_uow()
        with uow:
            uow.repository.save(username="Not saved", email="not-saved@user.com", balance=0)
            uow.repository.save(username="Not saved 2", email="not-saved-2@user.com",
                                balance=0)
            1 / 0  # noqa: B018
            uow.commit()
    for name in ("Not saved", "Not saved 2"):  # check_users_not_saved
        with pytest.raises(NotFoundError):
            read_user(name, get_uow().repository)

    uow = get_uow()  # create_many_users
    with uow:
        for i in range(100):
            uow.repository.save(username=f"User-{i}", email=f"user-{i}@py_assimilator.com",
                                balance=i * 100)
        uow.commit()
    uow = get_uow()  # create_many_users_direct
    with uow:
        for i in range(100):
            uow.repository.save(User(username=f"User-{i}",
                                     email=f"user-{i}@py_assimilator.com", balance=i * 100))
        uow.commit()

    username_filter = filter_(username__like="User-%")  # update_many_users
    uow = get_uow()
    with uow:
        uow.repository.update(username_filter, balance=10)
        uow.commit()
    lazy_users = uow.repository.filter(username_filter, lazy=True)
    assert isinstance(lazy_users, LazyCommand)
    assert [u.balance for u in lazy_users] == [10] * 200

    uow = get_uow()  # delete_many_users
    with uow:
        uow.repository.delete(filter_(username__regex=r"User-\w*"))
        uow.commit()
    assert uow.repository.count(filter_(balance=10)) == 0
    assert uow.repository.count() == 2

    repository = get_uow().repository  # filter_users, count_users, filter_users_lazy
    assert repository.filter(repository.specs.filter(balance__gt=50) & filter_(balance__gt=50)
                             & filter_(balance__eq=10)) == []
    assert repository.count(filter_(balance__gt=5000)) == 0
    assert list(repository.filter(filter_(balance__eq=0), lazy=True)) == []


# -- examples/complex_database -------------------------------------------------------------


class InternalCurrency(RedisModel):
    currency: str
    country: str


class InternalBalance(RedisModel):
    balance: float
    currency: InternalCurrency


class InternalComplexUser(RedisModel):
    username: str
    email: str
    balances: list[InternalBalance] = []  # noqa: RUF012 (as they write it)


class RedisCurrency(InternalCurrency):
    pass


class RedisBalance(InternalBalance, RedisModel):
    currency: RedisCurrency


class RedisComplexUser(InternalComplexUser, RedisModel):
    balances: list[RedisBalance] = []  # noqa: RUF012


def complex_read_user(username: str, balance: float, repository: Repository,
                      sync: bool = True) -> Any:
    user = repository.get(
        join("balances", "balances.currency"),
        filter_(username__eq=username, balances__balance=balance)
        | repository.specs.filter(balances__currency__country="USA")
        & ~repository.specs.filter(balances__currency__currency="USD"),
        only("username", "balances.currency", "balances.balance"),
    )
    # they print user.id, user.username, user.email and each balance's currency and balance;
    # email was left out by only(): a sync repository loads it on access, an async one cannot
    email = user.email if sync else "python.on.papyrus@gmail.com"
    shown = (user.id, user.username, email,
             [(str(b.currency.currency), b.balance) for b in user.balances])
    assert shown[1:3] == (username, "python.on.papyrus@gmail.com")
    return user


@pytest.mark.parametrize("kind", KINDS)
def test_complex_database_example(kind: str, client: redis.Redis,
                                  request: pytest.FixtureRequest) -> None:
    bridge = request.getfixturevalue("bridge") if "async" in kind else None
    get_uow = uow_factory(kind, client, bridge, RedisComplexUser)
    User, Balance, Currency = RedisComplexUser, RedisBalance, RedisCurrency

    uow: UnitOfWork = get_uow()  # create_user__kwargs
    with uow:
        uow.repository.save(username="Andrey", email="python.on.papyrus@gmail.com", balances=[
            {"currency": {"currency": "USD", "country": "USA"}, "balance": 2000},
            {"currency": {"currency": "HKD", "country": "HK"}, "balance": 123456},
            {"currency": {"currency": "EUR", "country": "EU"}, "balance": 50001},
        ])
        uow.commit()
    uow = get_uow()  # create_user_model
    with uow:
        user = User(username="Andrey-2", email="python.on.papyrus@gmail.com")
        user.balances.append(Balance(currency=Currency(currency="USD", country="USA"),
                                     balance=0))
        uow.repository.save(user)
        uow.commit()

    sync = not kind.endswith("async")
    andrey = complex_read_user("Andrey", 2000, get_uow().repository, sync)
    assert [b.balance for b in andrey.balances] == [2000, 123456, 50001]
    repository = get_uow().repository  # read_user_direct: PyAssimilator's eq('username', ...)
    direct = repository.get(repository.specs.filter(eq("username", "Andrey-2")))
    assert [(b.currency.currency, b.balance) for b in direct.balances] == [("USD", 0)]

    uow = get_uow()  # update_user
    with uow:
        user = uow.repository.get(uow.repository.specs.filter(username="Andrey"))
        user.balances[0].balance += 1000
        user.balances[1].balance = 0
        uow.repository.update(user)
        uow.commit()
    andrey = complex_read_user("Andrey", 3000, get_uow().repository, sync)
    assert [b.balance for b in andrey.balances] == [3000, 0, 50001]

    second_user = complex_read_user("Andrey-2", 0, get_uow().repository, sync)
    uow = get_uow()  # update_user_direct: an entity read with only(), changed and updated
    with uow:
        second_user.balances[0].balance /= 2
        uow.repository.update(second_user)
        uow.commit()
    stored = get_uow().repository.get(filter_(username="Andrey-2"))
    assert stored.email == "python.on.papyrus@gmail.com"  # what only() left out is kept
    assert [(b.currency.country, b.balance) for b in stored.balances] == [("USA", 0)]

    uow = get_uow()  # create_many_users
    with uow:
        for i in range(100):
            uow.repository.save(username=f"User-{i}", email=f"user-{i}@py_assimilator.com",
                                balances=[{"currency": {"currency": "USD", "country": "USA"},
                                           "balance": 1000}])
        uow.commit()
    uow = get_uow()  # create_many_users_direct
    with uow:
        for i in range(100):
            uow.repository.save(User(username=f"User-{i}",
                                     email=f"user-{i}@py_assimilator.com",
                                     balances=[Balance(currency=Currency(currency="EUR",
                                                                         country="EU"),
                                                       balance=i * 10)]))
        uow.commit()

    uow = get_uow()  # update_many_users
    username_filter = uow.repository.specs.filter(username__like="User-%")
    with uow:
        for user in uow.repository.filter(username_filter):
            for balance in user.balances:
                balance.balance = 10
            uow.repository.update(user)
        uow.commit()
    for user in uow.repository.filter(username_filter, lazy=True):
        assert all(balance.balance == 10 for balance in user.balances)

    uow = get_uow()  # delete_many_users
    with uow:
        uow.repository.delete(uow.repository.specs.filter(username__regex=r"User-\w*"))
        uow.commit()
    specs = uow.repository.specs
    assert uow.repository.count(specs.join("balances"), specs.filter(balances__balance=10)) == 0

    repository = get_uow().repository  # filter_users: ordered by a field inside the list
    users = repository.filter(join("balances"), order("balances.balance"),
                              filter_(balances__balance__gt=50))
    assert [u.username for u in users] == ["Andrey"]  # Andrey-2 holds only 0
    assert repository.count() == 2  # count_users
    assert repository.count(
        repository.specs.join("balances", "balances.currency"),
        repository.specs.filter(balances__balance__gt=5000, balances__currency__currency="EUR"),
    ) == 1
    lazy = repository.filter(repository.specs.join("balances"),  # filter_users_lazy
                             repository.specs.filter(balances__balance__eq=0), lazy=True)
    assert sorted(u.username for u in lazy) == ["Andrey", "Andrey-2"]


# -- the "adaptive specifications" tutorial ------------------------------------------------


class Amount(RedisModel):
    amount: float


class TutorialUser(RedisModel):
    username: str
    balances: list[Amount] = []  # noqa: RUF012


@pytest.mark.parametrize("kind", KINDS)
def test_adaptive_specifications_tutorial(kind: str, client: redis.Redis,
                                          request: pytest.FixtureRequest) -> None:
    bridge = request.getfixturevalue("bridge") if "async" in kind else None
    uow = uow_factory(kind, client, bridge, TutorialUser)()
    repository = uow.repository
    data = {"Andrey": [5.0, 1.0], "Andrey-2": [3.0], "xAndreyx": [], "Bob": [0.5],
            "Andrey-3": [9.0, 2.0]}
    with uow:  # writes through uow.repository belong inside its block
        for name, amounts in data.items():
            repository.save(username=name, balances=[{"amount": a} for a in amounts])
        uow.commit()

    users = repository.filter(  # read_users, as the tutorial writes it
        filter_(username__like="%Andrey%"),
        join("balances"),
        only("username", "balances.amount"),
        paginate(limit=10),
        order("balances.amount"),
    )
    # ascending by each user's smallest amount; a user without balances comes last
    assert [u.username for u in users] == ["Andrey", "Andrey-3", "Andrey-2", "xAndreyx"]
    assert [[b.amount for b in u.balances] for u in users] == [[5.0, 1.0], [9.0, 2.0], [3.0], []]
    assert all(set(b.__dict__) == {"amount"} for u in users for b in u.balances)
