"""redis-om's KNN and hybrid KNN, for ``python -m bench.vectors --redis-om`` (run in the
redis-om virtual environment, bench/.venvs/redis_om, against the benchmark's server).

    python -m bench.om_vectors <redis url> <spec.json>

``spec.json`` holds the data's seed, size and dimension (the rows are made exactly as
bench/vectors.py makes them, so the ids agree), the query vector and the number of runs. Prints
one JSON object: load seconds, median milliseconds and the ids each query returned.
"""

from __future__ import annotations

import json
import random
import statistics
import struct
import sys
import time
from collections.abc import Callable
from typing import Any, Optional

import redis
from redis_om import Field, JsonModel, KNNExpression, Migrator, VectorFieldOptions

LON, LAT = (2.2, 2.5), (48.8, 48.95)


def main() -> None:
    url, spec_path = sys.argv[1], sys.argv[2]
    with open(spec_path) as f:
        spec = json.load(f)
    dim = spec["dim"]

    class Point(JsonModel, index=True):  # type: ignore[call-arg]
        id: str = Field(primary_key=True)
        category: str = Field(index=True)
        price: int = Field(index=True)
        embedding: list[float] = Field(vector_options=VectorFieldOptions.flat(
            type=VectorFieldOptions.TYPE.FLOAT32, dimension=dim,
            distance_metric=VectorFieldOptions.DISTANCE_METRIC.L2))
        score: Optional[float] = Field(default=None)  # noqa: UP045 (redis-om's model walk)

        class Meta:
            global_key_prefix = "bench_om"
            model_key_prefix = "point"

    client = redis.Redis.from_url(url, protocol=2)
    Point.Meta.database = client  # type: ignore[attr-defined]
    Point._meta.database = client  # type: ignore[attr-defined]
    Migrator().run()
    rng = random.Random(spec["seed"])
    start = time.perf_counter()
    batch: list[Any] = []
    for i in range(spec["size"]):
        category, price = rng.choice("abcdefghij"), rng.randint(0, 999)
        rng.uniform(*LON), rng.uniform(*LAT)  # the position bench/vectors.py draws here
        batch.append(Point(id=f"{i:06}", category=category, price=price,
                           embedding=[rng.uniform(-1, 1) for _ in range(dim)]))
        if len(batch) == 5000:
            Point.add(batch)
            batch = []
    if batch:
        Point.add(batch)
    loaded = time.perf_counter() - start
    while True:  # the index has scanned everything
        info = client.execute_command("FT.INFO", Point.Meta.index_name)  # type: ignore[attr-defined]
        fields = dict(zip(info[0::2], info[1::2]))
        if int(fields.get(b"indexing", 0)) == 0:
            break
        time.sleep(0.2)
    query = struct.pack(f"<{dim}f", *spec["query"])

    def knn() -> list[Any]:
        found: list[Any] = Point.find(knn=KNNExpression(
            k=10, vector_field=Point.embedding, score_field=Point.score,  # type: ignore[attr-defined]
            reference_vector=query)).all()
        return found

    def hybrid() -> list[Any]:
        found: list[Any] = Point.find(
            (Point.category == "c") & (Point.price < 100),  # type: ignore[attr-defined]
            knn=KNNExpression(k=10, vector_field=Point.embedding,  # type: ignore[attr-defined]
                              score_field=Point.score,  # type: ignore[attr-defined]
                              reference_vector=query)).all()
        return found

    out = {"load_s": loaded}
    for name, call in (("knn", knn), ("hybrid", hybrid)):
        out[f"{name}_ids"] = [p.id for p in call()]
        out[f"{name}_ms"] = median_ms(call, spec["runs"])
    Point.find().delete()
    print(json.dumps(out))


def median_ms(call: Callable[[], Any], runs: int) -> float:
    call()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


if __name__ == "__main__":
    main()
