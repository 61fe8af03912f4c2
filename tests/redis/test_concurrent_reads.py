"""Reads that span several server pages are complete while other programs write (issue 8.2).

A RediSearch cursor is no snapshot: writing a document, even a field the query does not use,
indexes it again under a new internal id, so a cursor passes it twice or not at all. Here other
processes (their own clients) write random entities at full speed while the test reads; every
entity that matches for the whole read must come exactly once. MAXAGGREGATERESULTS is lowered to
1000 for these tests (and restored), so 3,000 entities make reads of several pages.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
import redis

from assimilator_stack import (
    AssimilatorConfig,
    RedisModel,
    RedisRepository,
    filter_,
    order,
    paginate,
)
from tests.support.concurrency_support import Job, Writers, keys_of, max_doc_id
from tests.support.execution_support import load, recording_client
from tests.support.helpers import RepoFactory

pytestmark = pytest.mark.both_apis

N = 3000
MAX_ROWS = 1000
PREFIX = "t:conc-item"


class Item(RedisModel):
    n: int
    g: str
    flag: int = 0
    touched: int = 0

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = PREFIX


IDS = [f"i{i:05d}" for i in range(N)]


def index_name() -> str:
    from assimilator_stack.backends.redis.plans import ModelPlans
    return ModelPlans(Item).index.name


@pytest.fixture
def items(client: redis.Redis, redis_stack_url: str) -> Iterator[redis.Redis]:
    """N entities on a server answering at most MAX_ROWS rows per query (restored after)."""
    reply = client.execute_command("FT.CONFIG", "GET", "MAXAGGREGATERESULTS")
    pairs = reply if isinstance(reply, dict) else dict(reply)
    before = pairs.get(b"MAXAGGREGATERESULTS", pairs.get("MAXAGGREGATERESULTS"))
    client.execute_command("FT.CONFIG", "SET", "MAXAGGREGATERESULTS", str(MAX_ROWS))
    try:
        load(client, [Item(id=i, n=k, g=f"g{k % 3}") for k, i in enumerate(IDS)])
        RedisRepository(client, Item).count()  # the index, built before the writers start
        yield client
    finally:
        client.execute_command("FT.CONFIG", "SET", "MAXAGGREGATERESULTS", before)


def touching(url: str, processes: int = 2) -> Writers:
    """Writers of a field no query here uses, on random entities."""
    return Writers(url, *[Job(keys_of(PREFIX, IDS), "$.touched")] * processes)


def exactly_once(found: list[str], expected: set[str]) -> None:
    counts = collections.Counter(found)
    twice = sorted(k for k, c in counts.items() if c > 1)
    missing = sorted(expected - set(counts))
    assert not twice and not missing, (
        f"{len(found)} rows for {len(expected)} entities: {len(twice)} more than once "
        f"{twice[:5]}, {len(missing)} missing {missing[:5]}")
    assert set(counts) == expected


def reindexed_during(client: redis.Redis, read: Any) -> tuple[Any, int]:
    """``read()``'s value and how many documents the server (re)indexed while it ran."""
    before = max_doc_id(client, index_name())
    value = read()
    return value, max_doc_id(client, index_name()) - before


def disturbed(moved: int) -> None:
    """The writers really wrote while the read ran (else the test proves nothing)."""
    assert moved >= 20, f"only {moved} documents were re-indexed during the read"


def test_what_moves_max_doc_id(items: redis.Redis) -> None:
    """The server fact the unordered reads rely on: every write of a document under the prefix
    (even of a field no query uses, even of the same value) gives it a new internal id, and
    deleting or expiring documents gives none."""
    index = index_name()
    key, other = keys_of(PREFIX, IDS[:2])
    start = max_doc_id(items, index)
    items.execute_command("JSON.SET", key, "$.touched", "0")  # the same value
    assert max_doc_id(items, index) == start + 1
    items.execute_command("JSON.SET", key, "$.nowhere", "1")  # a path the index does not hold
    assert max_doc_id(items, index) == start + 2
    items.delete(key)
    items.pexpire(other, 1)
    while items.exists(other):
        pass
    items.execute_command("JSON.SET", "t:unrelated", "$", "{}")  # a key of no index
    assert max_doc_id(items, index) == start + 2


@pytest.mark.parametrize("batch_size", [7, 100, 1000])
def test_stream_returns_every_entity_once_while_others_write(
        items: redis.Redis, make_repo: RepoFactory, redis_stack_url: str,
        batch_size: int) -> None:
    repo = make_repo(Item)
    with touching(redis_stack_url):
        found, moved = reindexed_during(
            items, lambda: [e.id for e in repo.stream(batch_size=batch_size)])
    disturbed(moved)
    exactly_once(found, set(IDS))


def test_stream_with_a_filter_returns_every_match_once(
        items: redis.Redis, make_repo: RepoFactory, redis_stack_url: str) -> None:
    repo = make_repo(Item)
    with touching(redis_stack_url):
        found, moved = reindexed_during(
            items, lambda: [e.id for e in repo.stream(filter_(n__gte=0), batch_size=100)])
        odd, _ = reindexed_during(
            items, lambda: [e.id for e in repo.stream(filter_(g__in=["g1", "g2"]))])
    disturbed(moved)
    exactly_once(found, set(IDS))
    exactly_once(odd, {i for k, i in enumerate(IDS) if k % 3})


def test_reads_while_others_delete(
        items: redis.Redis, make_repo: RepoFactory, redis_stack_url: str) -> None:
    """Deletes renumber nothing: no second pass, and every entity left is read once."""
    repo = make_repo(Item)
    doomed = IDS[1::2]
    with Writers(redis_stack_url, Job(keys_of(PREFIX, doomed), "", delete=True)):
        found, moved = reindexed_during(
            items, lambda: [e.id for e in repo.stream(filter_(n__gte=0), batch_size=50)])
    assert moved == 0
    counts = collections.Counter(found)
    seen_doomed = sum(1 for i in doomed if i in counts)
    assert 0 < seen_doomed < len(doomed)  # deleted while the read ran
    assert set(IDS[0::2]) <= set(counts) and max(counts.values()) == 1


def test_filter_past_the_row_limit_returns_every_match_once(
        items: redis.Redis, make_repo: RepoFactory, redis_stack_url: str) -> None:
    repo = make_repo(Item)
    with touching(redis_stack_url):
        found, moved = reindexed_during(items, lambda: [e.id for e in repo.filter()])
        matched, _ = reindexed_during(
            items, lambda: [e.id for e in repo.filter(filter_(n__gte=0))])
    disturbed(moved)
    exactly_once(found, set(IDS))
    exactly_once(matched, set(IDS))


def test_unordered_pages_past_the_row_limit_never_repeat(
        items: redis.Redis, make_repo: RepoFactory, redis_stack_url: str) -> None:
    repo = make_repo(Item)
    with touching(redis_stack_url):
        page, moved = reindexed_during(items, lambda: [
            e.id for e in repo.filter(filter_(n__gte=0), paginate(offset=400, limit=2000))])
        tail, _ = reindexed_during(items, lambda: [
            e.id for e in repo.stream(filter_(n__gte=0), paginate(offset=N - 1100),
                                      batch_size=100)])
    disturbed(moved)
    assert len(page) == 2000 and len(set(page)) == 2000 and set(page) <= set(IDS)
    assert len(tail) == 1100 and len(set(tail)) == 1100 and set(tail) <= set(IDS)


def test_count_checked_in_python_counts_every_match_once(
        items: redis.Redis, make_repo: RepoFactory, redis_stack_url: str) -> None:
    repo = make_repo(Item)
    with touching(redis_stack_url):
        total, moved = reindexed_during(
            items, lambda: repo.count(filter_(lambda e: e.n % 2 == 0)))
        every, _ = reindexed_during(items, lambda: repo.count(filter_(lambda e: e.n >= 0)))
    disturbed(moved)
    assert (total, every) == (N // 2, N)


@pytest.mark.slow
@pytest.mark.parametrize("where", [filter_(), filter_(n__gte=0)], ids=["all", "n>=0"])
def test_bulk_update_finds_every_match(
        items: redis.Redis, make_repo: RepoFactory, redis_stack_url: str, where: Any) -> None:
    repo = make_repo(Item)
    with touching(redis_stack_url):
        changed, moved = reindexed_during(items, lambda: repo.update(where, flag=1))
    disturbed(moved)
    flags = items.execute_command("JSON.MGET", *keys_of(PREFIX, IDS), "$.flag")
    assert collections.Counter(f if isinstance(f, str) else f.decode() for f in flags) == \
        {"[1]": N}
    assert changed == N


@pytest.mark.parametrize("where, kept", [(filter_(), 0), (filter_(g__in=["g0", "g1"]), 2)],
                         ids=["all", "g"])
def test_bulk_delete_finds_every_match(
        items: redis.Redis, make_repo: RepoFactory, redis_stack_url: str, where: Any,
        kept: int) -> None:
    repo = make_repo(Item)
    chosen = [i for k, i in enumerate(IDS) if not kept or k % 3 != kept]
    with touching(redis_stack_url):
        deleted, moved = reindexed_during(items, lambda: repo.delete(where))
    disturbed(moved)
    assert items.execute_command("EXISTS", *keys_of(PREFIX, chosen)) == 0
    assert items.execute_command("EXISTS", *keys_of(PREFIX, IDS)) == N - len(chosen)
    assert deleted == len(chosen)


def test_ordered_reads_are_complete_while_other_fields_change(
        items: redis.Redis, make_repo: RepoFactory, redis_stack_url: str) -> None:
    repo = make_repo(Item)
    with touching(redis_stack_url):
        listed, moved = reindexed_during(items, lambda: [e.id for e in repo.filter(order("-n"))])
        streamed = [e.id for e in repo.stream(order("g", "-n"), batch_size=400)]
    disturbed(moved)
    assert listed == IDS[::-1]
    assert streamed == [i for _, _, i in sorted((k % 3, -k, i) for k, i in enumerate(IDS))]


@pytest.mark.slow
def test_entities_whose_sort_value_changes(
        items: redis.Redis, make_repo: RepoFactory, redis_stack_url: str) -> None:
    """README: an entity whose sort values change during the read is returned by stream() each
    time a page finds it (possibly more than once, possibly never); filter() returns it at most
    once. Every other entity comes exactly once, in order."""
    repo = make_repo(Item)
    movers = set(IDS[::10])
    steady = [i for i in IDS if i not in movers]
    moving = Job(keys_of(PREFIX, sorted(movers)), "$.n", (0, N))
    with Writers(redis_stack_url, moving, moving, Job(keys_of(PREFIX, IDS), "$.touched")):
        listed, moved = reindexed_during(items, lambda: [e.id for e in repo.filter(order("n"))])
        streamed = [e.id for e in repo.stream(order("n"), batch_size=300)]
        # which entities a bulk write selects does not depend on the order: every match
        changed = repo.update(filter_(n__gte=0), order("n"), flag=1)
    disturbed(moved)
    assert changed == N
    for found in (listed, streamed):
        assert [i for i in found if i not in movers] == steady  # each once, in order
    assert len(set(listed)) == len(listed)


def test_reads_are_complete_without_permission_for_ft_info(
        items: redis.Redis, redis_stack_url: str, make_repo: RepoFactory) -> None:
    """FT.INFO refused (once the index is known ready): a read of several pages cannot tell
    whether it was disturbed, so it always completes itself in id order."""
    user = ("ACL", "SETUSER", "no-ft-info", "on", ">secret", "~*", "&*", "+@all")
    items.execute_command(*user)
    url = redis_stack_url.replace("redis://", "redis://no-ft-info:secret@", 1)
    limited = redis.Redis.from_url(url)
    try:
        repo = make_repo(Item, limited)
        assert repo.count() == N  # the index is ready (that check needs FT.INFO)
        items.execute_command(*user, "-ft.info")
        with pytest.raises(redis.ResponseError):
            limited.execute_command("FT.INFO", index_name())
        with touching(redis_stack_url):
            found, moved = reindexed_during(items, lambda: [e.id for e in repo.filter()])
            count = repo.count(filter_(lambda e: e.n >= 0))
        disturbed(moved)
        exactly_once(found, set(IDS))
        assert count == N
        exactly_once([e.id for e in repo.stream(batch_size=500)], set(IDS))
    finally:
        limited.close()
        items.execute_command("ACL", "DELUSER", "no-ft-info")


@pytest.mark.sync_only
@pytest.mark.parametrize("protocol", [2, 3])
def test_an_undisturbed_read_costs_two_round_trips_more(
        items: redis.Redis, redis_stack_url: str, protocol: int) -> None:
    """No write meanwhile. filter(): the first page alone (one page would be the whole read);
    then the cursor again with FT.INFO, its pages, FT.INFO after the last; no second pass
    (FT.INFO is understood in both protocols). stream(): FT.INFO with the first page."""
    client, recorder = recording_client(redis_stack_url, protocol=protocol)
    repo = RedisRepository(client, Item)
    repo.filter(paginate(limit=1))  # what the repository learns about the server, first

    def trips() -> list[list[str]]:
        made = [[str(c[0]) for c in trip] for trip in recorder.trips]
        recorder.clear()
        return made

    trips()
    assert len(repo.filter(filter_(n__lt=MAX_ROWS - 1))) == MAX_ROWS - 1
    assert trips() == [["FT.AGGREGATE"]]  # one page: one command, as before
    assert len(repo.filter()) == N
    pages = N // MAX_ROWS
    assert trips() == [["FT.AGGREGATE"], ["FT.CURSOR", "FT.INFO", "FT.AGGREGATE"],
                       *[["FT.CURSOR"]] * pages, ["FT.INFO"]]
    assert len(list(repo.stream(batch_size=MAX_ROWS))) == N
    assert trips() == [["FT.INFO", "FT.AGGREGATE"], *[["FT.CURSOR"]] * pages, ["FT.INFO"]]
    client.close()
