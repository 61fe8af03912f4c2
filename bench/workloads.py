"""The seven workloads: their parameters (derived from the data) and their true answers.

Every contender answers the same questions; the true answer is computed here in plain Python
from the generated rows, and a contender whose answer differs has its timing voided.
Standard library only (the workers import the parameter names).
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from typing import Any

from .dataset import Row, digest, fingerprint

# key, title, unit shown in tables, phase (worker process) that runs it
WORKLOADS: tuple[tuple[str, str, str, str], ...] = (
    ("insert", "1. bulk insert of N (one unit of work / pipeline)", "entities/s", "load"),
    ("get", "2. get by id, 1,000 random ids one by one", "us", "load"),
    ("query", "3. price range AND category, order by rating desc, first 20", "ms", "load"),
    ("count", "4. count of a price range", "ms", "load"),
    ("filter1000", "5. filter returning 1,000 entities", "ms", "load"),
    ("stream", "6. all N through the streaming / iteration path", "s", "stream"),
    ("update", "7a. update one field on 1% selected by a filter", "ms", "mutate"),
    ("delete", "7b. delete 1% selected by a filter", "ms", "mutate"),
)
KEYS = tuple(w[0] for w in WORKLOADS)
TITLES = {w[0]: w[1] for w in WORKLOADS}
UNITS = {w[0]: w[2] for w in WORKLOADS}
PHASES = ("load", "stream", "mutate")
PHASE_OF = {w[0]: w[3] for w in WORKLOADS}

QUERY_PRICE = (100.0, 300.0)
QUERY_CATEGORY = "books"
QUERY_LIMIT = 20
COUNT_PRICE = (250.0, 750.0)
FILTER_SIZE = 1000
GET_CALLS = 1000
UPDATED_STOCK = 100_000  # outside the generated 0..500, so updated entities are findable


@dataclass(frozen=True)
class Params:
    """What the workers are asked (sent to them as JSON)."""

    n: int
    seed: int
    get_ids: list[str]
    filter_rating_min: float  # rating >= this selects min(N, 1,000) entities
    update_rating_max: float  # rating <= this selects the lowest 1%
    delete_rating_min: float  # rating >= this selects the highest 1%
    batch_size: int

    def as_json(self) -> dict[str, Any]:
        return {
            "n": self.n, "seed": self.seed, "get_ids": self.get_ids,
            "query_price": list(QUERY_PRICE), "query_category": QUERY_CATEGORY,
            "query_limit": QUERY_LIMIT, "count_price": list(COUNT_PRICE),
            "filter_rating_min": self.filter_rating_min,
            "update_rating_max": self.update_rating_max, "updated_stock": UPDATED_STOCK,
            "delete_rating_min": self.delete_rating_min, "batch_size": self.batch_size,
        }


def one_percent(n: int) -> int:
    return max(1, n // 100)


def plan(rows: list[Row], seed: int, batch_size: int) -> Params:
    n = len(rows)
    rng = random.Random(seed + 1)
    ids = [r["id"] for r in rows]
    get_ids = rng.sample(ids, GET_CALLS) if n >= GET_CALLS else rng.choices(ids, k=GET_CALLS)
    ratings = sorted(r["rating"] for r in rows)  # all distinct by construction
    k = one_percent(n)
    return Params(
        n=n, seed=seed, get_ids=get_ids,
        filter_rating_min=ratings[n - min(n, FILTER_SIZE)],
        update_rating_max=ratings[k - 1],
        delete_rating_min=ratings[n - k],
        batch_size=batch_size,
    )


def id_checksum(ids: list[str] | tuple[str, ...]) -> int:
    """An order-free checksum of ids that a stream can keep in constant memory."""
    return sum(zlib.crc32(i.encode()) for i in ids) % (1 << 32)


@dataclass(frozen=True)
class Truth:
    """The right answers, in the shapes the workers report."""

    n: int
    get_fingerprints: list[str]  # one per id of Params.get_ids, in order
    answers: dict[str, Any]

    def expected(self, workload: str, answer: Any) -> Any:
        if workload == "get" and isinstance(answer, dict):
            calls = int(answer.get("calls", 0))
            return {"calls": calls, "digest": digest(self.get_fingerprints[:calls])}
        return self.answers[workload]


def truth(rows: list[Row], params: Params) -> Truth:
    by_id = {r["id"]: r for r in rows}
    lo, hi = QUERY_PRICE
    hits = [r for r in rows if lo <= r["price"] <= hi and r["category"] == QUERY_CATEGORY]
    hits.sort(key=lambda r: -r["rating"])
    clo, chi = COUNT_PRICE
    top = sorted(r["id"] for r in rows if r["rating"] >= params.filter_rating_min)
    updated = sorted(r["id"] for r in rows if r["rating"] <= params.update_rating_max)
    deleted = [r for r in rows if r["rating"] >= params.delete_rating_min]
    all_ids = [r["id"] for r in rows]
    return Truth(
        n=len(rows),
        get_fingerprints=[fingerprint(by_id[i]) for i in params.get_ids],
        answers={
            "insert": {"count": len(rows)},
            "query": {"ids": [r["id"] for r in hits[:QUERY_LIMIT]]},
            "count": {"count": sum(1 for r in rows if clo <= r["price"] <= chi)},
            "filter1000": {"count": len(top), "digest": digest(top)},
            "stream": {"count": len(all_ids), "checksum": id_checksum(all_ids)},
            "update": {"count": len(updated), "digest": digest(updated)},
            "delete": {"remaining": len(rows) - len(deleted)},
        },
    )
