"""Issue 13: ``repo.index.status()`` / ``migrate()`` / ``prune()`` on the real server, sync and
async: a new definition built beside the old one, the alias moved, stale indexes dropped only
when no process has used them for ``idle`` seconds, and never an index the library did not
make, nor a document."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
import redis

from assimilator_stack import RedisRepository, filter_
from assimilator_stack.backends.redis import building
from assimilator_stack.backends.redis.plans import ModelPlans
from assimilator_stack.backends.redis.uses import registry_key
from assimilator_stack.exceptions import InvalidQueryError
from assimilator_stack.settings import settings
from tests.support.deploy_models import PREFIX, ProductV1, ProductV2, document, load
from tests.support.helpers import text

pytestmark = pytest.mark.both_apis

V1 = ModelPlans(ProductV1).index.name
V2 = ModelPlans(ProductV2).index.name
ALIAS = f"{PREFIX}:idx"


def indexes(client: redis.Redis) -> list[str]:
    return sorted(text(n) for n in client.execute_command("FT._LIST"))


def alias_target(client: redis.Redis) -> str | None:
    try:
        reply = client.execute_command("FT.INFO", ALIAS)
    except redis.ResponseError:
        return None
    pairs = reply.items() if isinstance(reply, dict) else zip(reply[0::2], reply[1::2])
    return next(text(v) for k, v in pairs if text(k) == "index_name")


def uses(client: redis.Redis) -> dict[str, float]:
    raw = client.hgetall(registry_key(f"{PREFIX}:"))
    return {text(k): float(text(v)) for k, v in raw.items()}


def test_the_loaded_documents_are_what_the_library_writes() -> None:
    entity = ProductV1(id="p7", name="product 7", category="tools", price=7.0)
    assert ModelPlans(ProductV1).codec.dump(entity) == document(7)
    assert V1 != V2  # one more indexed field: another definition, another index


def test_status_before_anything_exists(make_repo: Any) -> None:
    state = make_repo(ProductV1).index.status()
    assert (state.name, state.exists, state.num_docs, state.stale) == (V1, False, 0, ())
    assert state.alias == ALIAS and not state.aliased


def test_migrate_builds_reports_progress_and_moves_the_alias(
        make_repo: Any, client: redis.Redis) -> None:
    load(client, 3000)
    v1 = make_repo(ProductV1)
    assert v1.count() == 3000  # v1's index, built by its first query
    calls: list[tuple[int, int]] = []
    state = make_repo(ProductV2).index.migrate(lambda done, total: calls.append((done, total)))
    assert calls and calls[-1] == (3000, 3000)
    assert all(done <= total for done, total in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert indexes(client) == sorted([V1, V2])  # the old index still serves v1
    assert alias_target(client) == V2
    assert (state.name, state.exists, state.aliased, state.num_docs) == (V2, True, True, 3000)
    assert (state.indexing, state.percent, state.indexing_failures) == (False, 100.0, 0)
    assert state.memory_bytes > 0 and state.last_used is not None
    [old] = state.stale
    assert (old.name, old.num_docs, old.aliased) == (V1, 3000, False)
    assert old.memory_bytes > 0 and old.last_used is not None
    assert v1.count(filter_(category="books")) == 600  # v1 still answers, from its index
    # raw FT.SEARCH users follow the alias: version 2's field is there
    make_repo(ProductV2).save(ProductV2(id="new", name="n", category="toys", price=1.0,
                                        color="red"))
    reply = client.execute_command("FT.SEARCH", ALIAS, "@color:{red}", "NOCONTENT",
                                   "DIALECT", 2)
    found = reply.get(b"results") if isinstance(reply, dict) else reply[1:]
    assert len(found) == 1


def test_migrate_when_the_index_exists_only_waits_and_aliases(
        make_repo: Any, client: redis.Redis) -> None:
    load(client, 200)
    repo = make_repo(ProductV1)
    assert repo.count() == 200
    calls: list[tuple[int, int]] = []
    state = repo.index.migrate(lambda done, total: calls.append((done, total)))
    assert calls == [(200, 200)] and state.aliased and indexes(client) == [V1]


def test_prune_keeps_an_index_in_use_and_force_drops_it_not_the_documents(
        make_repo: Any, client: redis.Redis) -> None:
    load(client, 500)
    assert make_repo(ProductV1).count() == 500  # v1 queries: its use is recorded
    assert set(uses(client)) == {V1}
    v2 = make_repo(ProductV2)
    v2.index.migrate()
    kept = v2.index.prune()  # idle=3600: v1 used it a moment ago
    assert kept.dropped == () and list(kept.kept) == [V1] and "used" in kept.kept[V1]
    assert indexes(client) == sorted([V1, V2])
    forced = v2.index.prune(force=True)
    assert forced.dropped == (V1,) and forced.kept == {}
    assert indexes(client) == [V2] and alias_target(client) == V2
    assert client.dbsize() == 500 + 1  # the documents and the registry
    assert set(uses(client)) == {V2}  # the dropped index's record went with it
    assert v2.count() == 500 and v2.index.status().stale == ()


def test_prune_drops_what_no_process_used_for_idle_seconds(
        make_repo: Any, client: redis.Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "index_use_interval", 0.2)
    load(client, 100)
    v1 = make_repo(ProductV1)
    v2 = make_repo(ProductV2)
    v2.index.migrate()
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:  # v1 keeps querying: its record stays fresh
        assert v1.count() == 100
        assert v2.index.prune(idle=1.0).dropped == ()
        time.sleep(0.05)
    time.sleep(1.1)  # v1 stopped: idle for longer than 1 s
    assert v2.index.prune(idle=1.0).dropped == (V1,)
    assert indexes(client) == [V2]


def test_an_index_without_a_recorded_use_is_counted_as_used_from_the_first_prune(
        make_repo: Any, client: redis.Redis) -> None:
    load(client, 50)
    spec = ModelPlans(ProductV1).index
    client.execute_command("FT.CREATE", spec.name, *spec.create_args)  # an older release
    v2 = make_repo(ProductV2)
    v2.index.migrate()
    first = v2.index.prune(idle=0.5)
    assert first.dropped == () and "no use recorded" in first.kept[V1]
    assert V1 in uses(client)
    time.sleep(0.6)
    assert v2.index.prune(idle=0.5).dropped == (V1,)


def test_the_aliased_index_stays_until_the_current_one_is_built(
        make_repo: Any, client: redis.Redis) -> None:
    load(client, 50)
    v1 = make_repo(ProductV1)
    v1.index.migrate()  # the alias points at v1's index
    v2 = make_repo(ProductV2)
    result = v2.index.prune(idle=0)  # v2's index does not exist yet
    assert result.dropped == () and "alias" in result.kept[V1]
    assert alias_target(client) == V1
    v2.index.migrate()
    assert v2.index.prune(idle=0).dropped == (V1,)
    assert alias_target(client) == V2


def test_prune_never_touches_an_index_the_library_did_not_make(
        make_repo: Any, client: redis.Redis) -> None:
    load(client, 20)
    schema = ("SCHEMA", "$.name", "AS", "name", "TAG")
    # a user's index over the same keys; one named like ours over other keys; one of ours
    # made by hand over two prefixes
    client.execute_command("FT.CREATE", f"{PREFIX}:idx:mine", "ON", "JSON", "PREFIX", "1",
                           f"{PREFIX}:", *schema)
    client.execute_command("FT.CREATE", f"{PREFIX}:idx:0123456789", "ON", "JSON", "PREFIX",
                           "1", "other:", *schema)
    client.execute_command("FT.CREATE", f"{PREFIX}:idx:abcdefabcd", "ON", "JSON", "PREFIX",
                           "2", f"{PREFIX}:", "x:", *schema)
    client.execute_command("FT.CREATE", f"{PREFIX}:idx:fedcbafedc", "ON", "HASH", "PREFIX",
                           "1", f"{PREFIX}:", *schema)
    before = indexes(client)
    repo = make_repo(ProductV2)
    assert repo.index.status().stale == ()
    assert repo.index.prune(force=True).dropped == ()
    assert indexes(client) == before


def test_prune_refuses_a_bad_idle(make_repo: Any) -> None:
    with pytest.raises(InvalidQueryError, match="idle"):
        make_repo(ProductV1).index.prune(idle=-1)


def test_status_names_the_document_that_cannot_be_indexed(
        make_repo: Any, client: redis.Redis) -> None:
    load(client, 10)
    client.execute_command("JSON.SET", f"{PREFIX}:bad", "$",
                           '{"id":"bad","name":"x","category":"toys","price":"cheap"}')
    repo = make_repo(ProductV2)
    state = repo.index.migrate()
    assert state.num_docs == 10 and state.indexing_failures == 1
    assert state.last_failure_key == f"{PREFIX}:bad"
    [bad] = state.unindexed
    assert bad.key == f"{PREFIX}:bad" and bad.field == "price"


@pytest.mark.sync_only
def test_index_status_still_works(client: redis.Redis) -> None:
    load(client, 10)
    status = RedisRepository(client, ProductV1).index_status()
    assert (status.name, status.num_docs) == (V1, 10)


# -- logging ------------------------------------------------------------------------------


def messages(caplog: pytest.LogCaptureFixture, logger: str, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger and r.levelno == level]


def test_migrate_and_prune_log_at_info(make_repo: Any, client: redis.Redis,
                                       caplog: pytest.LogCaptureFixture) -> None:
    load(client, 100)
    make_repo(ProductV1).count()
    v2 = make_repo(ProductV2)
    with caplog.at_level(logging.INFO, logger="assimilator_stack"):
        v2.index.migrate()
        v2.index.prune(force=True)
    lines = messages(caplog, "assimilator_stack.index", logging.INFO)
    assert any("creating index" in m and V2 in m and "about 100 documents" in m
               for m in lines), lines
    assert any("holds 100 documents" in m and ALIAS in m for m in lines), lines
    assert any("dropped index" in m and V1 in m for m in lines), lines


@pytest.mark.sync_only
def test_a_query_waiting_for_its_index_logs_progress(
        client: redis.Redis, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(building, "LOG_EVERY_SECONDS", 0.0)  # a line at every poll
    load(client, 30000)
    with caplog.at_level(logging.INFO, logger="assimilator_stack.index"):
        assert RedisRepository(client, ProductV1).count() == 30000
    lines = messages(caplog, "assimilator_stack.index", logging.INFO)
    assert any(m.startswith("created index") and V1 in m for m in lines), lines
    waits = [m for m in lines if "a query waits for index" in m]
    assert len(waits) == 1 and V1 in waits[0], lines
    assert any("building:" in m for m in lines), lines
    assert lines[-1].startswith(f"index '{V1}' built: 30000 documents"), lines
