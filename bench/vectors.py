"""KNN, hybrid KNN and geo queries: assimilator_stack against raw redis-py (issue 12).

``python -m bench.vectors [--size N] [--dim D] [--runs R]`` (default 100,000 vectors of 128
numbers, 30 runs) on the embedded server. Per algorithm (FLAT, HNSW) one model is loaded with
N random vectors, a category, a price and a position; raw redis-py queries its own index over
the same documents. Timed, median of the runs:

- KNN k=10: ``repo.filter(knn("embedding", v, k=10))`` against ``FT.SEARCH idx
  "*=>[KNN 10 @v $b AS s]" SORTBY s`` returning the documents, each validated by pydantic;
- hybrid: the same within ``filter_(category=..., price__lt=100)``;
- geo: a 1 km radius, and the same nearest first (first 10), against ``FT.SEARCH @loc:[...]``
  and ``FT.AGGREGATE ... APPLY geodistance ... SORTBY ... MAX 10``.

Every answer is checked before it is timed (the same ids as raw redis-py's; FLAT and the geo
queries are exact); a wrong answer exits 1. ``--recall`` instead measures HNSW's recall@10
against FLAT (exact) on 10,000 vectors, for several ``ef_runtime``. redis-om is not measured
here by default; ``--redis-om`` also runs its KNN and hybrid KNN (FLAT) in its own virtual
environment (bench/.venvs/redis_om, made on first use) on its own copy of the same rows
(bench/om_vectors.py), its answers checked against the library's.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ClassVar

import redis

from assimilator_stack import (
    AssimilatorConfig,
    Distance,
    GeoPoint,
    GeoRadius,
    RedisModel,
    RedisRepository,
    RedisUnitOfWork,
    Vector,
    filter_,
    knn,
    order,
    paginate,
)
from assimilator_stack.testing.server import RedisStackServer

LON, LAT = (2.2, 2.5), (48.8, 48.95)
CENTRE = (2.35, 48.87)


def make_models(dim: int) -> dict[str, type[RedisModel]]:
    out: dict[str, type[RedisModel]] = {}
    for algorithm in ("flat", "hnsw"):
        class Point(RedisModel):
            category: str
            price: int
            location: GeoPoint
            embedding: Annotated[list[float], Vector(dim=dim, distance="l2",
                                                      algorithm=algorithm)]

            class AssimilatorConfig(AssimilatorConfig):
                key_prefix: ClassVar[str | None] = f"bench:vec:{algorithm}"

        out[algorithm] = Point
    return out


def median_ms(call: Callable[[], Any], runs: int) -> float:
    call()  # warm
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def blob(vector: list[float]) -> bytes:
    return struct.pack(f"<{len(vector)}f", *vector)


def load(repo: RedisRepository[Any], model: type[RedisModel], n: int, dim: int,
         rng: random.Random) -> float:
    start = time.perf_counter()
    for first in range(0, n, 5000):
        uow = RedisUnitOfWork(repository=repo)
        with uow:
            for i in range(first, min(n, first + 5000)):
                uow.repository.save(model(
                    id=f"{i:06}", category=rng.choice("abcdefghij"), price=rng.randint(0, 999),
                    location=GeoPoint(lon=rng.uniform(*LON), lat=rng.uniform(*LAT)),
                    embedding=[rng.uniform(-1, 1) for _ in range(dim)]))
            uow.commit()
    return time.perf_counter() - start


def raw_index(client: redis.Redis, algorithm: str, prefix: str, dim: int) -> str:
    name = f"raw:{algorithm}"
    extra = ["M", "16", "EF_CONSTRUCTION", "200"] if algorithm == "hnsw" else []
    options = ["TYPE", "FLOAT32", "DIM", str(dim), "DISTANCE_METRIC", "L2", *extra]
    client.execute_command(
        "FT.CREATE", name, "ON", "JSON", "PREFIX", "1", f"{prefix}:", "SCHEMA",
        "$.category", "AS", "category", "TAG", "$.price", "AS", "price", "NUMERIC",
        "$.location", "AS", "location", "GEO",
        "$.embedding", "AS", "v", "VECTOR", algorithm.upper(), str(len(options)), *options)
    while True:
        info = client.execute_command("FT.INFO", name)
        fields = dict(zip(info[0::2], info[1::2]))
        if str(fields.get(b"indexing", fields.get("indexing", b"0"))) in ("0", "b'0'"):
            return name
        time.sleep(0.2)


def raw_search(client: redis.Redis, model: type[RedisModel], args: list[Any]
               ) -> list[Any]:
    reply = client.execute_command("FT.SEARCH", *args)
    out = []
    for fields in reply[2::2]:
        row = dict(zip(fields[0::2], fields[1::2]))
        out.append(model.model_validate_json(row[b"$"]))
    return out


def check(what: str, got: list[str], want: list[str]) -> None:
    """Exact queries: the same ids. HNSW is approximate, and the library asks the server for
    k + 1 (to see ties at the k-th distance), which searches more of the graph than raw
    redis-py's k: only the number of results must agree."""
    if "hnsw" in what:
        got, want = [str(len(got))], [str(len(want))]
    if got != want:
        print(f"WRONG {what}: library {got} != raw {want}", file=sys.stderr)
        sys.exit(1)


Row = tuple[str, float, float, "float | None"]
SEED = 2026


def redis_om_rows(url: str, n: int, dim: int, runs: int, query: list[float],
                  want: dict[str, list[str]]) -> dict[str, float]:
    """redis-om's medians (ms) of knn and hybrid, after checking its ids against ``want``."""
    from .venvs import ensure

    python = ensure(Path(__file__).parent / ".venvs" / "redis_om", ["redis-om", "hiredis"],
                    log=lambda m: print(m, file=sys.stderr))
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as spec:
        json.dump({"seed": SEED, "size": n, "dim": dim, "runs": runs, "query": query}, spec)
    done = subprocess.run([str(python), "-m", "bench.om_vectors", url, spec.name],
                          capture_output=True, text=True, cwd=Path(__file__).parent.parent,
                          timeout=3600)
    Path(spec.name).unlink()
    if done.returncode:
        print(done.stderr, file=sys.stderr)
        sys.exit(1)
    out = json.loads(done.stdout)
    print(f"redis-om: loaded {n} in {out['load_s']:.1f} s", file=sys.stderr)
    for name in ("knn", "hybrid"):
        check(f"redis-om {name}", out[f"{name}_ids"], want[name])
    return {"knn": out["knn_ms"], "hybrid": out["hybrid_ms"]}


def bench_algorithm(client: redis.Redis, model: type[RedisModel], algorithm: str, n: int,
                    dim: int, runs: int, rng: random.Random, om_url: str | None = None
                    ) -> list[Row]:
    repo = RedisRepository(session=client, model=model)
    seconds = load(repo, model, n, dim, rng)
    repo.count()  # the library's index is ready
    prefix = model.AssimilatorConfig.key_prefix
    assert prefix is not None
    index = raw_index(client, algorithm, prefix, dim)
    print(f"{algorithm}: loaded {n} in {seconds:.1f} s", file=sys.stderr)
    query = [rng.uniform(-1, 1) for _ in range(dim)]
    rows = []

    def lib_knn() -> list[Any]:
        return repo.filter(knn("embedding", query, k=10))

    knn_args = [index, "*=>[KNN 10 @v $b AS s]", "PARAMS", "2", "b", blob(query), "SORTBY",
                "s", "RETURN", "1", "$", "LIMIT", "0", "10", "DIALECT", "2"]
    check(f"{algorithm} knn", [e.id for e in lib_knn()],
          [e.id for e in raw_search(client, model, knn_args)])
    om: dict[str, float] = {}
    if om_url is not None:
        om = redis_om_rows(om_url, n, dim, runs, query, {
            "knn": [e.id for e in lib_knn()],
            "hybrid": [e.id for e in repo.filter(filter_(category="c", price__lt=100),
                                                 knn("embedding", query, k=10))]})
    rows.append((f"KNN k=10, {algorithm.upper()}", median_ms(lib_knn, runs),
                 median_ms(lambda: raw_search(client, model, knn_args), runs), om.get("knn")))

    def lib_hybrid() -> list[Any]:
        return repo.filter(filter_(category="c", price__lt=100), knn("embedding", query, k=10))

    hybrid_args = [index, "(@category:{c} @price:[-inf (100])=>[KNN 10 @v $b AS s]", "PARAMS",
                   "2", "b", blob(query), "SORTBY", "s", "RETURN", "1", "$", "LIMIT", "0",
                   "10", "DIALECT", "2"]
    check(f"{algorithm} hybrid", [e.id for e in lib_hybrid()],
          [e.id for e in raw_search(client, model, hybrid_args)])
    rows.append((f"hybrid KNN (1 category of 10, price < 100), {algorithm.upper()}",
                 median_ms(lib_hybrid, runs),
                 median_ms(lambda: raw_search(client, model, hybrid_args), runs),
                 om.get("hybrid")))
    if algorithm == "flat":
        rows += bench_geo(client, repo, model, index, runs)
    client.execute_command("FT.DROPINDEX", index)
    repo.delete(filter_())
    return rows


def bench_geo(client: redis.Redis, repo: RedisRepository[Any], model: type[RedisModel],
              index: str, runs: int) -> list[Row]:
    radius = filter_(location__within=GeoRadius(*CENTRE, 1, "km"))
    nearest = Distance("location", *CENTRE)
    geo_args = [index, "@location:[$lon $lat 1 km]", "PARAMS", "4", "lon", str(CENTRE[0]),
                "lat", str(CENTRE[1]), "RETURN", "1", "$", "LIMIT", "0", "10000", "DIALECT", "2"]
    matches = len(raw_search(client, model, geo_args))
    check("radius", sorted(e.id for e in repo.filter(radius)),
          sorted(e.id for e in raw_search(client, model, geo_args)))

    def raw_nearest(where: str) -> list[Any]:
        reply = client.execute_command(
            "FT.AGGREGATE", index, where, "PARAMS", "4", "lon", str(CENTRE[0]), "lat",
            str(CENTRE[1]), "LOAD", "2", "@__key", "@location", "APPLY",
            f"geodistance(@location,{CENTRE[0]},{CENTRE[1]})", "AS", "d", "SORTBY", "4", "@d",
            "ASC", "@__key", "ASC", "MAX", "10", "DIALECT", "2")
        keys = [dict(zip(r[0::2], r[1::2]))[b"__key"] for r in reply[1:]]
        docs = client.execute_command("JSON.MGET", *keys, ".")
        return [model.model_validate_json(d) for d in docs]

    near_args = "@location:[$lon $lat 1 km]"
    check("nearest 10 within 1 km",
          [e.id for e in repo.filter(radius, order(nearest), paginate(limit=10))],
          [e.id for e in raw_nearest(near_args)])
    check("nearest 10 of all", [e.id for e in repo.filter(order(nearest), paginate(limit=10))],
          [e.id for e in raw_nearest("*")])
    return [
        (f"geo radius 1 km ({matches} matches)", median_ms(lambda: repo.filter(radius), runs),
         median_ms(lambda: raw_search(client, model, geo_args), runs), None),
        ("nearest 10 within 1 km", median_ms(
            lambda: repo.filter(radius, order(nearest), paginate(limit=10)), runs),
         median_ms(lambda: raw_nearest(near_args), runs), None),
        ("nearest 10 of all (no radius)", median_ms(
            lambda: repo.filter(order(nearest), paginate(limit=10)), max(3, runs // 10)),
         median_ms(lambda: raw_nearest("*"), max(3, runs // 10)), None),
    ]


def recall(client: redis.Redis, dim: int, n: int = 10000, queries: int = 100) -> None:
    class Both(RedisModel):
        flat: Annotated[list[float], Vector(dim=dim, distance="l2")]
        hnsw: Annotated[list[float], Vector(dim=dim, distance="l2", algorithm="hnsw")]

        class AssimilatorConfig(AssimilatorConfig):
            key_prefix: ClassVar[str | None] = "bench:recall"

    rng = random.Random(12)
    repo = RedisRepository(session=client, model=Both)
    uow = RedisUnitOfWork(repository=repo)
    with uow:
        for i in range(n):
            v = [rng.uniform(-1, 1) for _ in range(dim)]
            uow.repository.save(Both(id=f"{i:05}", flat=v, hnsw=v))
        uow.commit()
    probes = [[rng.uniform(-1, 1) for _ in range(dim)] for _ in range(queries)]
    truth = [{e.id for e in repo.filter(knn("flat", q, k=10))} for q in probes]
    print(f"HNSW (M=16, EF_CONSTRUCTION=200) recall@10 against FLAT, {n} random "
          f"{dim}-d vectors, {queries} queries:")
    for ef in (10, 20, 50, 100, 200):
        found = [{e.id for e in repo.filter(knn("hnsw", q, k=10, ef_runtime=ef))}
                 for q in probes]
        hits = sum(len(f & t) for f, t in zip(found, truth))
        ms = median_ms(lambda ef=ef: repo.filter(knn("hnsw", probes[0], k=10, ef_runtime=ef)),
                       20)
        print(f"  ef_runtime {ef:>3}: recall@10 {hits / (10 * queries):.3f}   ({ms:.2f} ms)")
    repo.delete(filter_())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--recall", action="store_true")
    parser.add_argument("--redis-om", action="store_true",
                        help="also redis-om's KNN and hybrid KNN (FLAT)")
    args = parser.parse_args()
    with RedisStackServer() as server:
        client = server.client(protocol=2)  # raw replies parsed as RESP2 lists
        if args.recall:
            recall(client, args.dim)
            return
        models = make_models(args.dim)
        rng = random.Random(SEED)
        rows: list[Row] = []
        for algorithm in ("flat", "hnsw"):
            om_url = server.url if args.redis_om and algorithm == "flat" else None
            rows += bench_algorithm(client, models[algorithm], algorithm, args.size, args.dim,
                                    args.runs, rng, om_url)
    print(f"N = {args.size}, {args.dim}-d vectors, median of {args.runs} (ms)")
    print("| query | assimilator_stack | raw redis-py | ÷ raw | redis-om | redis-om ÷ raw |")
    print("|---|---|---|---|---|---|")
    for name, lib, raw, om in rows:
        oms = "—" if om is None else f"{om:.2f} | {om / raw:.2f}"
        print(f"| {name} | {lib:.2f} | {raw:.2f} | {lib / raw:.2f} | {oms} |"
              + (" — |" if om is None else ""))


if __name__ == "__main__":
    main()
