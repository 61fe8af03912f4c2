"""get / save / unit of work on an embedded Redis Cluster of three masters: the library
(RedisRepository over redis.cluster.RedisCluster) against raw redis-py's cluster client doing
the same writes by hand.

    python -m bench.cluster [--entities 2000] [--rounds 5]

- get by id: ``repo.get(filter_(id=...))`` / ``JSON.GET`` + ``model_validate_json``;
- save: ``repo.save(entity)`` (one MULTI/EXEC on the key's node: JSON.SET, then PERSIST, as
  Redis SET drops an old TTL) / one ``JSON.SET`` of ``model_dump_json()``;
- unit of work: an order and its customer (one hash tag, so one slot) saved in a unit of work
  / ``pipeline(transaction=True)`` with the two ``JSON.SET``.

Every answer is checked before it is timed. Times are medians per call; ratios are the
library's time ÷ raw's, best round of ``--rounds`` alternating rounds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from assimilator_stack import RedisModel, RedisRepository, RedisUnitOfWork, filter_
from assimilator_stack.testing.cluster import RedisStackCluster


class Customer(RedisModel):
    name: str
    tier: int = 0

    class AssimilatorConfig:
        key_prefix = "BenchCustomer"
        hash_tag = "id"


class Order(RedisModel):
    customer_id: str
    total: float = 0.0
    lines: tuple[str, ...] = ()

    class AssimilatorConfig:
        key_prefix = "BenchOrder"
        hash_tag = "customer_id"


def _median(action: Callable[[int], object], count: int) -> float:
    times = []
    for number in range(count):
        start = time.perf_counter()
        action(number)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(entities: int, rounds: int) -> dict[str, tuple[float, float]]:
    with RedisStackCluster(masters=3) as cluster:
        client = cluster.client()
        raw_client = cluster.client()
        customers = RedisRepository(session=client, model=Customer)
        orders = RedisRepository(session=client, model=Order)
        uow = RedisUnitOfWork(orders)
        people = [Customer(id=f"c{n}", name=f"name {n}", tier=n % 5) for n in range(entities)]
        for person in people:
            customers.save(person)
        # checked before timing: both read back what was saved
        assert customers.get(filter_(id="c7")) == people[7]
        raw_get = Customer.model_validate_json(
            raw_client.execute_command("JSON.GET", "BenchCustomer:{c7}"))
        assert raw_get == people[7]

        def lib_get(n: int) -> object:
            return customers.get(filter_(id=f"c{n % entities}"))

        def raw_get_one(n: int) -> object:
            return Customer.model_validate_json(
                raw_client.execute_command("JSON.GET", f"BenchCustomer:{{c{n % entities}}}"))

        def lib_save(n: int) -> object:
            return customers.save(people[n % entities])

        def raw_save(n: int) -> object:
            person = people[n % entities]
            return raw_client.execute_command(
                "JSON.SET", f"BenchCustomer:{{{person.id}}}", "$", person.model_dump_json())

        def lib_uow(n: int) -> None:
            person = people[n % entities]
            with uow:
                uow.repository.save(Order(id=f"o{n}", customer_id=person.id, total=n,
                                          lines=("a", "b")))
                uow.repository.save(Order(id=f"p{n}", customer_id=person.id, total=1))
                uow.commit()

        def raw_uow(n: int) -> None:
            person = people[n % entities]
            pipe = raw_client.pipeline(transaction=True)
            for order in (Order(id=f"o{n}", customer_id=person.id, total=n, lines=("a", "b")),
                          Order(id=f"p{n}", customer_id=person.id, total=1)):
                pipe.execute_command("JSON.SET", f"BenchOrder:{{{person.id}}}:{order.id}", "$",
                                     order.model_dump_json())
            pipe.execute()

        lib_uow(0)
        raw_uow(1)
        copy = Order(id="o0", customer_id="c0")
        orders.refresh(copy)
        assert copy.lines == ("a", "b")
        pairs = {"get by id": (lib_get, raw_get_one), "save": (lib_save, raw_save),
                 "unit of work (2 saves, one slot)": (lib_uow, raw_uow)}
        best: dict[str, tuple[float, float]] = {}
        for _ in range(rounds):
            for name, (lib, raw) in pairs.items():
                ours = _median(lib, entities)
                theirs = _median(raw, entities)
                if name not in best or ours / theirs < best[name][0] / best[name][1]:
                    best[name] = (ours, theirs)
        client.close()
        raw_client.close()
        return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entities", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    best = run(args.entities, args.rounds)
    print(f"3-master embedded cluster, {args.entities} calls per workload, best of "
          f"{args.rounds} rounds (medians)")
    print("| workload | assimilator_stack | raw redis-py cluster | ratio |")
    print("|---|---|---|---|")
    for name, (ours, theirs) in best.items():
        print(f"| {name} | {ours * 1e6:.0f} µs | {theirs * 1e6:.0f} µs | {ours / theirs:.2f} |")


if __name__ == "__main__":
    main()

