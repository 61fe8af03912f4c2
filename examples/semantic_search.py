"""Semantic search over a few hundred products (README "Vectors"): each product's text becomes
a vector (a hashed bag of words: no model, no extra dependency), stored in a Vector field;
``knn`` finds the nearest, alone or within a filter (hybrid search).

    python examples/semantic_search.py     # on a private embedded server, or on REDIS_URL
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from redis import Redis

from assimilator_stack import RedisModel, RedisRepository, Vector, filter_, knn

DIM = 64


def embed(text: str) -> list[float]:
    """A hashed bag of words: each word adds ±1 to one of DIM slots (by its hash), then the
    vector is normalised. Texts sharing words point the same way."""
    vector = [0.0] * DIM
    for word in re.findall(r"[a-z]+", text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        slot = int.from_bytes(digest[:4], "little") % DIM
        vector[slot] += 1.0 if digest[4] % 2 else -1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


class Product(RedisModel):
    title: str
    category: str
    price: int
    embedding: Annotated[list[float], Vector(dim=DIM, distance="cosine", algorithm="hnsw")]


COLOURS = ["red", "blue", "black", "green", "white"]
THINGS = {
    "shoes": ["running shoes", "trail shoes", "leather boots", "canvas sneakers"],
    "clothing": ["winter jacket", "rain coat", "wool sweater", "cotton shirt"],
    "kitchen": ["coffee grinder", "tea kettle", "chef knife", "cast iron pan"],
    "garden": ["garden hose", "pruning shears", "flower pots", "watering can"],
}
STYLES = ["light", "warm", "classic", "sturdy", "compact"]


def catalogue() -> list[Product]:
    """400 products: every style x colour x thing."""
    out = []
    for n, (style, colour, (category, thing)) in enumerate(itertools.product(
            STYLES, COLOURS, [(c, t) for c, ts in THINGS.items() for t in ts])):
        title = f"{style} {colour} {thing}"
        out.append(Product(id=f"p{n:03}", title=title, category=category,
                           price=20 + (n * 37) % 180, embedding=embed(title)))
    return out


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
    with redis_server() as url:
        database = Redis.from_url(url)
        repo = RedisRepository(session=database, model=Product)
        products = catalogue()
        for product in products:
            repo.save(product)
        print(f"{repo.count()} products")

        query = "warm jacket for winter"
        for hit in repo.hits(knn("embedding", embed(query), k=5)):
            print(f"{hit.score:.3f}  {hit.entity.title}")
        best = repo.filter(knn("embedding", embed(query), k=5))
        assert all("winter jacket" in p.title for p in best[:3]), [p.title for p in best]

        # hybrid: the nearest among the shoes under 100
        cheap_shoes = repo.filter(filter_(category="shoes", price__lt=100),
                                  knn("embedding", embed("red running shoes"), k=10))
        print("cheap shoes:", [(p.title, p.price) for p in cheap_shoes[:3]])
        assert all(p.category == "shoes" and p.price < 100 for p in cheap_shoes)
        assert len(cheap_shoes) == 10
        repo.delete(filter_())
        database.close()


if __name__ == "__main__":
    main()
