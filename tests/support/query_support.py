"""Helpers for the query-engine tests: run a specification's compiled query on the real
server (FT.SEARCH + the Python residual), and the same on the in-memory twin."""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any

import redis
from pydantic import BaseModel

from assimilator_stack import InternalRepository, RedisRepository
from assimilator_stack.backends.redis.cluster_driver import session_for
from assimilator_stack.backends.redis.facts import ServerFacts
from assimilator_stack.backends.redis.index import ensure_index
from assimilator_stack.backends.redis.protocol import Call
from assimilator_stack.backends.redis.sync_driver import SyncSession
from assimilator_stack.core.specs import Query, collect
from assimilator_stack.query.redisearch import CompiledFilter, compile_filter
from tests.support.helpers import text


def compiled(repo: RedisRepository[Any], *specs: Any, redis_wildcards: bool = False
             ) -> CompiledFilter:
    return compile_filter(repo.plans.schema, collect(specs).filter,
                          redis_wildcards=redis_wildcards)


def search_keys(client: redis.Redis, repo: RedisRepository[Any], query: CompiledFilter
                ) -> list[str]:
    """Keys FT.SEARCH returns for a compiled filter (the index is made first). Sent through
    the repository's driver, so that on a cluster it goes where the library sends searches
    (a coordinator node) and is refused where the library refuses them."""
    ready = _ready.setdefault(client, ServerFacts())
    session = session_for(SyncSession, client, "tests")
    session.run(ensure_index(repo.plans.index, ready, 10.0))
    reply = session.perform(Call((
        "FT.SEARCH", repo.plans.index.name, query.query, *query.params_args(),
        "NOCONTENT", "LIMIT", "0", "10000", "DIALECT", "2",
    )))
    if isinstance(reply, dict):  # RESP3
        return [text(r["id"]) for r in reply["results"]]
    return [text(k) for k in reply[1:]]


# Indexes known to exist, per client (each test gets a new client after FLUSHALL).
_ready: weakref.WeakKeyDictionary[redis.Redis, ServerFacts] = weakref.WeakKeyDictionary()


def redis_ids(client: redis.Redis, repo: RedisRepository[Any], *specs: Any,
              redis_wildcards: bool = False) -> set[Any]:
    """Ids of the matches as Redis decides them: the compiled query, then the residual check
    in Python on the candidates when the query is not exact."""
    query = collect(specs)
    if repo.plans.id_keys(query) is not None:  # the direct key path
        return {e.id for e in repo.filter(*specs)}
    compiled_filter = compile_filter(repo.plans.schema, query.filter,
                                     redis_wildcards=redis_wildcards)
    keys = search_keys(client, repo, compiled_filter)
    if compiled_filter.exact:
        id_type = int if repo.plans.schema.id_field.numeric else str
        return {id_type(key[len(repo.plans.index.key_prefix):]) for key in keys}
    ids: set[Any] = set()
    for key in keys:
        raw = client.execute_command("JSON.GET", key)
        entity = repo.plans.codec.load(key, raw)
        if compiled_filter.residual(entity):
            ids.add(entity.id)
    return ids


def twin_ids(twin: InternalRepository[Any], *specs: Any) -> set[Any]:
    return {e.id for e in twin.filter(*specs)}


def save_all(entities: Iterable[BaseModel], *repos: Any) -> None:
    for entity in entities:
        for repo in repos:
            repo.save(entity)


def no_filter() -> Query:
    return Query()
