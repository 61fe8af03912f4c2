"""Relevance-ordered search, first 20: assimilator_stack against raw redis-py.

``python -m bench.search_relevance [N ...]`` (default 1000 10000) on the embedded server, with
the benchmark's Product rows (bench/dataset.py). The library ranks every match exactly (one
FT.SEARCH of keys and scores, ties by id) and reads the 20 documents; raw redis-py asks
FT.SEARCH for the 20 best with their documents (server order; ties by internal doc id). The
answers are checked before they are timed: the library's page is the first 20 of every match
the server finds, by score then id, and has raw redis-py's scores; a wrong answer exits 1.
Standalone (not one of ``python -m bench``'s workloads yet, which another change is editing).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Annotated, Any, ClassVar

from assimilator_stack import AssimilatorConfig, RedisModel, RedisRepository, Text, search
from assimilator_stack.testing.server import RedisStackServer

from .dataset import generate

QUERIES = ("red lamp", "durable water", "quiet", "wooden frame")
LIMIT = 20
RUNS = 30


class Item(RedisModel):
    name: Annotated[str, Text(weight=5)]
    description: Annotated[str, Text()] = ""
    category: str = ""
    price: float = 0.0

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "bench:relevance"


def best(samples: list[float]) -> str:
    return f"median {statistics.median(samples) * 1000:7.2f} ms, min {min(samples) * 1000:7.2f} ms"


def measure(n: int, server: RedisStackServer) -> None:
    client = server.client(protocol=2)
    client.flushall()
    repo = RedisRepository(client, Item)
    with client.pipeline(transaction=False) as pipe:
        for row in generate(n, 20240101):
            pipe.execute_command("JSON.SET", f"bench:relevance:{row['id']}", "$", json.dumps({
                "id": row["id"], "name": row["name"], "description": row["description"],
                "category": row["category"], "price": row["price"]}))
        pipe.execute()
    repo.count()  # the index is made and has caught up
    while int(dict(zip(*[iter(client.execute_command("FT.INFO", repo.plans.index.name))] * 2))
              .get(b"indexing", 0)):
        time.sleep(0.05)
    for text in QUERIES:
        spec = search(text)
        where = repo.explain(spec)[2]

        def ours(spec: Any = spec) -> list[float]:
            return [h.score or 0.0 for h in repo.hits(spec, _page())]

        def raw(where: str = where) -> list[float]:
            reply = client.execute_command(
                "FT.SEARCH", repo.plans.index.name, where, "WITHSCORES", "RETURN", "1", "$",
                "LIMIT", "0", str(LIMIT), "DIALECT", "2")
            items = reply[1:]
            out = []
            for i in range(0, len(items), 3):
                Item.model_validate_json(items[i + 2][1])
                out.append(float(items[i + 1]))
            return out

        check(repo, client, spec, where, text)
        if ours() != raw():  # the same scores in the same order
            raise SystemExit(f"WRONG: {text!r}: the library's scores differ from raw redis-py's")
        timings = {}
        for name, call in (("assimilator_stack", ours), ("raw redis-py", raw)):
            samples = []
            for _ in range(RUNS):
                start = time.perf_counter()
                call()
                samples.append(time.perf_counter() - start)
            timings[name] = samples
        matches = repo.count(spec)
        for name, samples in timings.items():
            print(f"N={n:>7} {text!r:>18} ({matches:>6} matches) {name:>17}: {best(samples)}")


def check(repo: RedisRepository[Item], client: Any, spec: Any, where: str, text: str) -> None:
    """The library's first page against the truth built from the server's every match: ids
    and scores of ``FT.SEARCH … WITHSCORES NOCONTENT``, most relevant first, ties by id."""
    reply = client.execute_command(
        "FT.SEARCH", repo.plans.index.name, where, "WITHSCORES", "NOCONTENT",
        "LIMIT", "0", "10000", "DIALECT", "2")
    prefix = len("bench:relevance:")
    every = [(key.decode()[prefix:], float(score))
             for key, score in zip(reply[1::2], reply[2::2])]
    want = sorted(every, key=lambda pair: (-pair[1], pair[0]))[:LIMIT]
    got = [(h.entity.id, h.score) for h in repo.hits(spec, _page())]
    if got != want or repo.count(spec) != reply[0] or len(every) != reply[0]:
        raise SystemExit(f"WRONG: {text!r}: first {LIMIT} {got} != {want}")


def _page() -> Any:
    from assimilator_stack import paginate

    return paginate(limit=LIMIT)


def main(argv: list[str]) -> int:
    sizes = [int(a) for a in argv] or [1000, 10000]
    with RedisStackServer() as server:
        for n in sizes:
            measure(n, server)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
