"""Aggregate workload: Product entities grouped by tag (a list field), Count + Avg(rating).

    python -m bench.aggregate --sizes 10000,100000 --rounds 3

Contenders, each answer checked against the true one (computed here from the rows):

- ``stack``: ``repo.aggregate(group_by="tags", n=Count(), avg=Avg("rating"))``;
- ``raw-groupby``: redis-py ``FT.AGGREGATE idx * GROUPBY 1 @tags REDUCE COUNT 0 REDUCE AVG 1
  @rating`` (the server's reducers; numbers printed with ~12 digits, compared with a
  tolerance of 1e-9 and reported "wrong" otherwise);
- ``raw-exact``: redis-py reading every document with a cursor (``LOAD 1 $``) and grouping in
  Python (``math.fsum(v) / len(v)``: within an ulp of the true mean, checked with the same
  tolerance): what exact values cost without the library.

One embedded server, one process; prints the median time of each and its ratio to
``raw-groupby``, and exits 1 when ``stack`` or ``raw-exact`` answers wrong.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from fractions import Fraction
from typing import Any, ClassVar

import redis

from assimilator_stack import AssimilatorConfig, Avg, Count, RedisModel, RedisRepository
from assimilator_stack.testing import RedisStackServer

from .dataset import generate


class Product(RedisModel):
    name: str
    category: str
    brand: str
    price: float
    stock: int
    rating: float
    tags: list[str]
    description: str

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "bench:agg"


def truth(rows: list[dict[str, Any]]) -> dict[str, tuple[int, float]]:
    """Counts, and means of the ratings computed exactly (fractions) and rounded once."""
    ratings: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        for tag in set(row["tags"]):
            ratings[tag].append(row["rating"])
    return {tag: (len(v), float(sum(map(Fraction, v)) / len(v)))
            for tag, v in ratings.items()}


def stack(repo: RedisRepository[Product]) -> dict[str, tuple[int, float]]:
    rows = repo.aggregate(group_by="tags", n=Count(), avg=Avg("rating"))
    return {r["tags"]: (r["n"], r["avg"]) for r in rows}


def raw_groupby(client: redis.Redis, index: str) -> dict[str, tuple[int, float]]:
    reply = client.execute_command(
        "FT.AGGREGATE", index, "*", "GROUPBY", "1", "@tags", "REDUCE", "COUNT", "0", "AS", "n",
        "REDUCE", "AVG", "1", "@rating", "AS", "avg", "DIALECT", "2")
    out = {}
    for raw in reply[1:]:
        row = dict(zip(raw[::2], raw[1::2]))
        out[row["tags"]] = (int(row["n"]), float(row["avg"]))
    return out


def raw_exact(client: redis.Redis, index: str) -> dict[str, tuple[int, float]]:
    ratings: dict[str, list[float]] = defaultdict(list)
    reply, cursor = client.execute_command(
        "FT.AGGREGATE", index, "*", "LOAD", "1", "$", "WITHCURSOR", "COUNT", "1000",
        "DIALECT", "2")
    while True:
        for raw in reply[1:]:
            doc = json.loads(raw[1])
            for tag in set(doc["tags"]):
                ratings[tag].append(doc["rating"])
        if not cursor:
            break
        reply, cursor = client.execute_command("FT.CURSOR", "READ", index, cursor)
    return {tag: (len(v), math.fsum(v) / len(v)) for tag, v in ratings.items()}


def agrees(got: dict[str, tuple[int, float]], want: dict[str, tuple[int, float]],
           exact: bool) -> bool:
    if got.keys() != want.keys():
        return False
    for tag, (n, avg) in want.items():
        gn, gavg = got[tag]
        # exact: the correctly rounded mean; else within 1e-9 (the reducers print 12 digits)
        if gn != n or not (gavg == avg if exact else math.isclose(gavg, avg, rel_tol=1e-9)):
            return False
    return True


def timed(func: Callable[[], Any], rounds: int) -> tuple[float, Any]:
    times, answer = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        answer = func()
        times.append(time.perf_counter() - started)
    return statistics.median(times), answer


def run(n: int, rounds: int, server: RedisStackServer) -> dict[str, tuple[float, bool]]:
    client = server.client(decode_responses=True, protocol=2)
    client.flushall()
    repo = RedisRepository(client, Product)
    rows = generate(n, seed=7)
    pipe = client.pipeline(transaction=False)
    for i, row in enumerate(rows):
        entity = Product(**{k: row[k] for k in Product.model_fields if k in row})
        pipe.execute_command("JSON.SET", repo.plans.key(entity.id), "$",
                             repo.plans.codec.dump(entity))
        if i % 5000 == 4999:
            pipe.execute()
    pipe.execute()
    repo.count()  # the index exists and has scanned
    index = repo.plans.index.name
    want = truth(rows)
    results = {}
    for name, func, exact in [
        ("raw-groupby", lambda: raw_groupby(client, index), False),
        ("raw-exact", lambda: raw_exact(client, index), False),
        ("stack", lambda: stack(repo), True),
    ]:
        seconds, answer = timed(func, rounds)
        results[name] = (seconds, agrees(answer, want, exact))
    base = results["raw-groupby"][0]
    print(f"N = {n:,} ({len(want)} tags)")
    for name, (seconds, ok) in results.items():
        print(f"  {name:12s} {seconds * 1000:9.1f} ms  x{seconds / base:6.2f}"
              f"  {'ok' if ok else 'WRONG'}")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    wrong = []
    with RedisStackServer() as server:
        for n in (int(s) for s in args.sizes.split(",")):
            results = run(n, args.rounds, server)
            # raw-groupby is known wrong on a list field (it is what is measured against)
            wrong += [f"{name} at N = {n}" for name, (_, ok) in results.items()
                      if not ok and name != "raw-groupby"]
    if wrong:
        print("WRONG:", ", ".join(wrong))
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
