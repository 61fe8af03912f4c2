"""A user's service module, type-checked as its author would (``mypy --strict``): no error
but the misspelt attribute, and the entities are the model, on both faces.

(tests/redis/test_public_types.py pins each method's type; this is the user's view of it.) Needs
mypy (the dev extra): skipped without it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SERVICES = '''
from collections.abc import Iterator

from assimilator_stack import (
    AsyncRepository, AsyncUnitOfWork, RedisModel, Repository, UnitOfWork, filter_, order,
    paginate,
)


class Customer(RedisModel):
    name: str
    balance: int = 0


def rename(uow: UnitOfWork[Customer], old: str, new: str) -> Customer:
    with uow:
        customer = uow.repository.get(filter_(name=old))
        customer.name = new
        saved = uow.repository.update(customer)
        uow.commit()
    return saved


def richest(repo: Repository[Customer], n: int) -> list[Customer]:
    return repo.filter(order("-balance"), paginate(limit=n))


def total(repo: Repository[Customer]) -> int:
    return sum(c.balance for c in repo.stream(filter_(lambda c: c.balance > 0)))


def broke(repo: Repository[Customer]) -> int:
    return repo.count(filter_(balance=0)) + repo.delete(filter_(balance__lt=0))


def names(repo: Repository[Customer]) -> Iterator[str]:
    for customer in repo.filter(lazy=True):
        yield customer.name


async def pay(uow: AsyncUnitOfWork[Customer], name: str, amount: int) -> Customer:
    async with uow:
        customer = await uow.repository.get(filter_(name=name))
        customer.balance += amount
        saved = await uow.repository.save(customer)
        await uow.commit()
    return saved


async def first(repo: AsyncRepository[Customer]) -> Customer | None:
    async for customer in repo.stream(order("name")):
        return customer
    return None


def typo(repo: Repository[Customer]) -> None:
    print(repo.get(filter_(name="Ann")).nmae)


async def async_typo(repo: AsyncRepository[Customer]) -> None:
    print((await repo.get(filter_(name="Ann"))).nmae)


def shown(repo: Repository[Customer], arepo: AsyncRepository[Customer]) -> None:
    reveal_type(repo.get())
    reveal_type(repo.filter())
    reveal_type(arepo.get(lazy=True))
'''


@pytest.mark.slow
def test_a_service_module_type_checks_strictly(tmp_path: Path) -> None:
    api = pytest.importorskip("mypy.api")
    module = tmp_path / "services.py"
    module.write_text(SERVICES)
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\n")
    out, err, _ = api.run([str(module), "--strict", "--config-file", str(config),
                           "--cache-dir", str(tmp_path / "cache"), "--no-error-summary",
                           "--hide-error-context", "--no-pretty"])
    assert err == ""
    lines = SERVICES.splitlines()
    found = []
    for line in out.splitlines():
        matched = re.match(r".*services\.py:(\d+): (\w+): (.*)$", line)
        assert matched, line
        number, severity, message = matched.groups()
        message = message.replace("builtins.", "")  # how mypy versions name list
        found.append((lines[int(number) - 1].strip(), severity, message))
    entity = '"services.Customer"'
    assert found == [
        ('print(repo.get(filter_(name="Ann")).nmae)', "error",
         '"Customer" has no attribute "nmae"  [attr-defined]'),
        ('print((await repo.get(filter_(name="Ann"))).nmae)', "error",
         '"Customer" has no attribute "nmae"  [attr-defined]'),
        ("reveal_type(repo.get())", "note", f"Revealed type is {entity}"),
        ("reveal_type(repo.filter())", "note", f'Revealed type is "list[{entity[1:-1]}]"'),
        ("reveal_type(arepo.get(lazy=True))", "note",
         f'Revealed type is "assimilator_stack.core.lazy.AsyncLazyCommand[{entity[1:-1]}]"'),
    ], out
