"""Stores near me: GeoPoint fields, radius and polygon filters, distance order (README "Geo").

    python examples/geo_stores.py          # on a private embedded server, or on REDIS_URL
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from redis import Redis

from assimilator_stack import (
    Distance,
    GeoPoint,
    GeoPolygon,
    GeoRadius,
    RedisModel,
    RedisRepository,
    filter_,
    order,
    paginate,
)


class Store(RedisModel):
    name: str
    kind: str  # "bakery", "pharmacy", ...
    location: GeoPoint
    open_late: bool = False


STORES = [
    Store(id="louvre", name="Boulangerie du Louvre", kind="bakery",
          location=GeoPoint(lon=2.3376, lat=48.8606)),
    Store(id="marais", name="Pharmacie du Marais", kind="pharmacy",
          location=GeoPoint(lon=2.3622, lat=48.8575), open_late=True),
    Store(id="bastille", name="Boulangerie Bastille", kind="bakery",
          location=GeoPoint(lon=2.3692, lat=48.8532), open_late=True),
    Store(id="montmartre", name="Boulangerie Montmartre", kind="bakery",
          location=GeoPoint(lon=2.3431, lat=48.8867)),
    Store(id="defense", name="Pharmacie La Défense", kind="pharmacy",
          location=GeoPoint(lon=2.2389, lat=48.8918)),
    Store(id="versailles", name="Boulangerie du Château", kind="bakery",
          location=GeoPoint(lon=2.1301, lat=48.8049)),
]
ME = (2.3522, 48.8566)  # Hôtel de Ville


def stores_near_me(repo: RedisRepository[Store], kind: str, km: float) -> list[Store]:
    """The stores of a kind within ``km`` of me, nearest first."""
    return repo.filter(filter_(kind=kind, location__within=GeoRadius(*ME, km, unit="km")),
                       order(Distance("location", *ME)))


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
        repo = RedisRepository(session=database, model=Store)
        for store in STORES:
            repo.save(store)

        near = stores_near_me(repo, "bakery", 3)
        print("bakeries within 3 km:", [s.id for s in near])
        assert [s.id for s in near] == ["louvre", "bastille"]

        # the distance of each (metres) comes as the hit's score
        for hit in repo.hits(filter_(open_late=True), order(Distance("location", *ME)),
                             paginate(limit=2)):
            assert hit.score is not None
            print(f"open late: {hit.entity.name}: {hit.score:.0f} m")

        # inside Paris' ring road (roughly), farthest first
        paris = GeoPolygon([(2.2242, 48.8156), (2.4699, 48.8156), (2.4699, 48.9022),
                            (2.2242, 48.9022)])
        inside = repo.filter(filter_(location__within=paris), order(-Distance("location", *ME)))
        print("inside the polygon, farthest first:", [s.id for s in inside])
        assert [s.id for s in inside][-1] == "marais" and "versailles" not in [s.id for s in inside]
        repo.delete(filter_())
        database.close()


if __name__ == "__main__":
    main()
