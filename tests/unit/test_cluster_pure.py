"""Redis Cluster logic without a server: hash slots (values from the cluster specification),
the check that a transaction holds one slot, multi-key reads split per slot, coordinator
detection from the replies a server gives, and keys with hash tags."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assimilator_stack import CrossSlotError, InvalidEntityError, RedisModel
from assimilator_stack.backends.redis.cluster_driver import SearchFacts
from assimilator_stack.backends.redis.commands import per_slot as split
from assimilator_stack.backends.redis.replies import joined, merged_info
from assimilator_stack.backends.redis.replies import search_coordinator as coordinator_of
from assimilator_stack.backends.redis.slots import by_slot, held_slot, slot_of
from assimilator_stack.documents.keys import KeyScheme
from assimilator_stack.testing.cluster import slot_ranges


def test_slots_as_the_cluster_specification_gives_them() -> None:
    # "foo" hashes to 12182 (CLUSTER KEYSLOT foo in the Redis docs); a hash tag decides alone
    assert slot_of("foo") == 12182
    assert slot_of("{user1000}.following") == slot_of("{user1000}.followers")
    assert slot_of("foo{}{bar}") != slot_of("bar")  # empty tag: the whole key
    assert slot_of("foo{{bar}}zap") == slot_of("{bar")  # from the first { to the next }
    assert slot_of("foo{bar}{zap}") == slot_of("bar")


def test_a_transaction_holds_one_slot() -> None:
    assert held_slot(["{a}1", "{a}2"]) == ("{a}1", slot_of("a"))
    assert held_slot([]) is None
    with pytest.raises(CrossSlotError) as caught:
        held_slot(["{a}1", "{a}2", "{b}3"])
    assert caught.value.keys == ("{a}1", "{b}3")
    assert caught.value.slots == (slot_of("a"), slot_of("b"))
    assert "'{a}1'" in str(caught.value) and "'{b}3'" in str(caught.value)
    # what the transaction already WATCHes counts
    with pytest.raises(CrossSlotError):
        held_slot(["{b}1"], ("{a}0", slot_of("a")))


@given(st.lists(st.text(min_size=1, max_size=8), max_size=30))
def test_by_slot_keeps_every_key_once_in_order(keys: list[str]) -> None:
    groups = by_slot(keys)
    assert sorted(k for g in groups for k in g) == sorted(keys)
    for group in groups:
        assert len({slot_of(k) for k in group}) == 1
        assert group == [k for k in keys if slot_of(k) == slot_of(group[0])]
    assert len({slot_of(g[0]) for g in groups}) == len(groups)


def test_a_multi_key_read_is_split_per_slot_and_joined_in_order() -> None:
    assert split(("JSON.MGET", "{a}1", "{a}2", "$")) is None
    assert split(("JSON.GET", "{a}1")) is None
    args = ("JSON.MGET", "{a}1", "{b}1", "{a}2", "$")
    parts = split(args)
    assert parts == [("JSON.MGET", "{a}1", "{a}2", "$"), ("JSON.MGET", "{b}1", "$")]
    assert joined(args, parts, [["A1", None], ["B1"]]) == ["A1", "B1", None]
    exists = ("EXISTS", "{a}1", "{b}1", "{a}2")
    parts = split(exists)
    assert parts is not None and len(parts) == 2
    assert joined(exists, parts, [2, 0]) == 2


def test_info_of_every_primary_is_one_reply() -> None:
    replies = {"n1:1": {"db0": {"keys": 3, "expires": 1}}, "n2:2": {}}
    assert merged_info(replies) == {"n1:1/db0": {"keys": 3, "expires": 1}}


RESP3_MODULES = [{b"name": b"search", b"ver": 21005, b"path": b"/x", b"args": []},
                 {b"name": b"ReJSON", b"ver": 20803, b"path": b"/y", b"args": []}]
RESP2_MODULES = [["name", "ReJSON", "ver", 20803], ["name", "search", "ver", 80205]]


@pytest.mark.parametrize(("listed", "modules", "expected"), [
    ([], RESP3_MODULES, (False, 21005)),  # Redis Stack 7.4 modules: no coordinator
    ([], RESP2_MODULES, (True, 80205)),  # Redis 8: shard commands internal, version tells
    ([b"_ft.search", b"_ft.aggregate"], RESP3_MODULES, (True, 21005)),  # shown shard commands
    (Exception("NOPERM"), Exception("NOPERM"), (False, None)),
    ({}, [], (False, None)),
])
def test_coordinator_detection(listed: Any, modules: Any, expected: tuple[bool, Any]) -> None:
    assert coordinator_of(listed, modules) == expected


def test_refusals_say_why() -> None:
    many = SearchFacts(False, 3, 21005, None).refusal()
    assert "3 shards" in str(many) and "21005" in str(many) and "Redis 8" in str(many)
    one = SearchFacts(False, 1, 21005, None).refusal()
    assert "no document contents" in str(one)
    unknown = SearchFacts(False, 3, None, None).refusal()
    assert "MODULE LIST" in str(unknown)


def test_slot_ranges_cover_every_slot_once() -> None:
    for masters in (1, 2, 3, 7):
        ranges = slot_ranges(masters)
        assert ranges[0][0] == 0 and ranges[-1][1] == 16383
        assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(ranges))
    with pytest.raises(ValueError):
        slot_ranges(0)


# -- keys with hash tags ----------------------------------------------------------------------

class Account(RedisModel):
    name: str = ""

    class AssimilatorConfig:
        hash_tag = "id"


class Invoice(RedisModel):
    account_id: str | None = None

    class AssimilatorConfig:
        hash_tag = "account_id"


class Line(RedisModel):
    region: str = "eu"

    class AssimilatorConfig:
        @staticmethod
        def hash_tag(line: Any) -> str:
            return f"r-{line.region}"


def test_keys_with_hash_tags() -> None:
    plain = KeyScheme(RedisModel, "Thing")
    assert plain.of_id("1") == "Thing:1" and plain.by_id
    account = KeyScheme(Account, "Account")
    assert account.of_id("customer-42") == "Account:{customer-42}"
    assert account.id_in("Account:{customer-42}") == "customer-42"
    invoice = KeyScheme(Invoice, "Invoice")
    assert invoice.of_id("o17") is None and not invoice.by_id
    key = invoice.of_entity(Invoice(id="o17", account_id="customer-42"))
    assert key == "Invoice:{customer-42}:o17"
    assert slot_of(key) == slot_of(account.of_id("customer-42") or "")
    assert invoice.id_in(key) == "o17"
    assert invoice.of_entity({"id": "a:b", "account_id": "x"}) == "Invoice:{x}:a:b"
    assert invoice.id_in("Invoice:{x}:a:b") == "a:b"
    line = KeyScheme(Line, "Line")
    assert line.of_entity(Line(id="7", region="us")) == "Line:{r-us}:7"


def test_a_tag_that_cannot_be_written_is_refused() -> None:
    with pytest.raises(InvalidEntityError, match="account_id"):
        KeyScheme(Invoice, "Invoice").of_entity(Invoice(id="1"))
    with pytest.raises(InvalidEntityError, match="without '}'"):
        KeyScheme(Account, "Account").of_id("a}b")

    class Wrong(RedisModel):
        class AssimilatorConfig:
            hash_tag = "nope"

    with pytest.raises(ValueError, match="hash_tag must be a field name"):
        KeyScheme(Wrong, "Wrong")
