"""The Redis plans (backends/redis/: reads, writes, bulk, scan.py, watching.py) driven by
replies written by hand, in every shape a client may get them (RESP2 / RESP3, bytes / str):
which requests each operation makes, in which order, and what it makes of the replies. No
server (tests/support/scripted.py).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest

from assimilator_stack import (
    AlreadyExistsError,
    AssimilatorConfig,
    ConcurrencyError,
    InvalidQueryError,
    NotFoundError,
    PartialResultError,
    RedisModel,
    filter_,
    order,
)
from assimilator_stack.backends.redis.commands import write_commands
from assimilator_stack.backends.redis.facts import ServerFacts
from assimilator_stack.backends.redis.plans import ModelPlans
from assimilator_stack.backends.redis.protocol import (
    Batch,
    Call,
    Exec,
    Request,
    Watch,
    WatchFailed,
)
from assimilator_stack.backends.redis.uses import registry_key
from assimilator_stack.exceptions import RedisCommandError
from tests.support.scripted import SHAPES, Script, Shape, Step


class Part(RedisModel):
    name: str = ""
    qty: int = 0

    class AssimilatorConfig(AssimilatorConfig):
        key_prefix: ClassVar[str | None] = "u:part"


KEY = "u:part:{}".format


def doc(i: int, name: str = "a") -> str:
    """A document as JSON.GET returns it (written by hand, as another program would)."""
    return json.dumps({"id": str(i), "name": name, "qty": i})


def row(i: int, document: bool = False) -> dict[str, str]:
    return {"__key": KEY(i), **({"$": doc(i)} if document else {})}


@pytest.fixture(params=SHAPES, ids=str)
def shape(request: pytest.FixtureRequest) -> Shape:
    shape: Shape = request.param
    return shape


@pytest.fixture
def plans() -> ModelPlans[Part]:
    # The index health check asks FT.INFO again only after an hour: a slow machine cannot
    # slip an extra request into a script.
    return ModelPlans(Part, index_check_interval=3600)


def ready_index(plans: ModelPlans[Part], shape: Shape) -> list[Step]:
    """The first query of a pool: FT.INFO (the index exists and has scanned), the record of
    this process's use of the index (uses.py), then FT.INFO of the health check (no indexing
    failures)."""
    info = shape.ft_info(plans.index.name, max_doc_id=4)
    return [Step(("FT.INFO", plans.index.name), info),
            Step(("HSET", registry_key(plans.index.key_prefix), plans.index.name, ...), 1),
            Step(("FT.INFO", plans.index.name), info)]


def max_rows(shape: Shape, value: str = "10000") -> Step:
    return Step(("FT.CONFIG", "GET", "MAXAGGREGATERESULTS"), shape.config("MAXAGGREGATERESULTS",
                                                                          value))


def aggregate(*needles: str, absent: tuple[str, ...] = ()) -> Any:
    """An FT.AGGREGATE holding each of ``needles`` and none of ``absent``."""
    def check(request: Request) -> bool:
        return (isinstance(request, Call) and request.args[0] == "FT.AGGREGATE"
                and all(n in request.args for n in needles)
                and not any(a in request.args for a in absent))
    return check


def ids(entities: list[Part]) -> list[str]:
    return [e.id for e in entities]


# -- reads by id ----------------------------------------------------------------------------------

def test_get_by_id_is_one_json_get(plans: ModelPlans[Part], shape: Shape) -> None:
    script = Script((("JSON.GET", KEY(1)), shape.s(doc(1))))
    found = script.run(plans.get([filter_(id="1")], ServerFacts(), watch=False))
    script.done()
    assert found == Part(id="1", name="a", qty=1)
    assert script.requests == [Call(("JSON.GET", KEY(1)))]  # no index, no search


def test_get_by_id_of_a_missing_key_is_not_found(plans: ModelPlans[Part], shape: Shape) -> None:
    script = Script((("JSON.GET", KEY(9)), None))
    with pytest.raises(NotFoundError):
        script.run(plans.get([filter_(id="9")], ServerFacts(), watch=False))
    script.done()


def test_get_by_id_in_a_unit_of_work_watches_the_key_first(plans: ModelPlans[Part],
                                                           shape: Shape) -> None:
    script = Script((Watch((KEY(1),)), b"OK"), (("JSON.GET", KEY(1)), shape.s(doc(1))))
    assert script.run(plans.get([filter_(id="1")], ServerFacts(), watch=True)).id == "1"
    script.done()


# -- a cursor read over several pages -------------------------------------------------------------

def guarded_open(plans: ModelPlans[Part], shape: Shape, max_doc_id: int, cursor: int,
                 *rows: dict[str, str]) -> Step:
    """stream(): FT.INFO and the FT.AGGREGATE opening the cursor, in one round trip."""
    def check(request: Request) -> bool:
        return (isinstance(request, Batch) and request.commands[0] == ("FT.INFO", plans.index.name)
                and aggregate("WITHCURSOR")(Call(request.commands[1])))
    return Step(check, [shape.ft_info(plans.index.name, max_doc_id=max_doc_id),
                        shape.cursor(rows, cursor)])


def test_a_stream_stopped_early_reads_the_cursor_then_deletes_it(plans: ModelPlans[Part],
                                                                 shape: Shape) -> None:
    index, facts = plans.index.name, ServerFacts()
    read = plans.read([], page=2, stream=True)
    script = Script(max_rows(shape), *ready_index(plans, shape),
                    guarded_open(plans, shape, 4, 77, row(1, True), row(2, True)))
    assert ids(script.run(plans.read_page(read, facts, watch=False))) == ["1", "2"]
    script.add((("FT.CURSOR", "READ", index, "77", "COUNT", "2"),
                shape.cursor([row(3, True), row(4, True)], 77)))
    assert ids(script.run(plans.read_page(read, facts, watch=False))) == ["3", "4"]
    # the caller stops here: the cursor the server still holds is deleted
    script.add((("FT.CURSOR", "DEL", index, "77"), shape.s("OK")))
    script.run(plans.close_read(read))
    script.done()
    assert read.done


def read_all(script: Script, plans: ModelPlans[Part], read: Any, facts: ServerFacts) -> list[str]:
    out: list[str] = []
    while not read.done:
        out += ids(script.run(plans.read_page(read, facts, watch=False)))
    return out


def test_a_cursor_read_that_saw_nothing_reindexed_is_complete(plans: ModelPlans[Part],
                                                              shape: Shape) -> None:
    index, facts = plans.index.name, ServerFacts()
    read = plans.read([], page=2, stream=True)
    script = Script(max_rows(shape), *ready_index(plans, shape),
                    guarded_open(plans, shape, 4, 77, row(1, True), row(2, True)),
                    (("FT.CURSOR", "READ", index, "77", "COUNT", "2"),
                     shape.cursor([row(3, True)], 0)),
                    # after the last page: max_doc_id as when the cursor opened
                    (("FT.INFO", index), shape.ft_info(index, max_doc_id=4)))
    assert read_all(script, plans, read, facts) == ["1", "2", "3"]
    script.done()


def test_a_cursor_read_whose_index_moved_runs_the_keyset_repair(plans: ModelPlans[Part],
                                                                shape: Shape) -> None:
    """Entity 4 was rewritten while the cursor was open (max_doc_id 4 -> 6) and the cursor
    passed it by: a keyset scan in id order finds it; nothing is returned twice."""
    index, facts = plans.index.name, ServerFacts()
    read = plans.read([], page=2, stream=True)
    every = [{**row(i), "id": str(i)} for i in (1, 2, 3, 4)]  # keys and the sort attribute
    script = Script(max_rows(shape), *ready_index(plans, shape),
                    guarded_open(plans, shape, 4, 77, row(1, True), row(2, True)),
                    (("FT.CURSOR", "READ", index, "77", "COUNT", "2"),
                     shape.cursor([row(3, True)], 0)),
                    (("FT.INFO", index), shape.ft_info(index, max_doc_id=6)),
                    # the repair: sorted by id, short of its window, so asked again the way
                    # that also drops dead rows (see OrderedScan), then the one missed document
                    Step(aggregate("SORTBY", absent=("WITHCURSOR",)), shape.rows(every)),
                    Step(aggregate("SORTBY", absent=("WITHCURSOR",)), shape.rows(every)),
                    (("JSON.MGET", KEY(4), "."), [shape.s(doc(4))]))
    assert read_all(script, plans, read, facts) == ["1", "2", "3", "4"]
    script.done()


def test_a_cursor_read_without_ft_info_permission_repairs(plans: ModelPlans[Part],
                                                          shape: Shape) -> None:
    """FT.INFO refused after the pages: unknown is not unchanged, so the repair runs."""
    index, facts = plans.index.name, ServerFacts()
    read = plans.read([], page=2, stream=True)
    every = [{**row(i), "id": str(i)} for i in (1, 2, 3)]
    script = Script(max_rows(shape), *ready_index(plans, shape),
                    guarded_open(plans, shape, 4, 77, row(1, True), row(2, True)),
                    (("FT.CURSOR", "READ", index, "77", "COUNT", "2"),
                     shape.cursor([row(3, True)], 0)),
                    (("FT.INFO", index), RedisCommandError("NOPERM this user has no "
                                                           "permissions to run 'ft.info'")),
                    Step(aggregate("SORTBY"), shape.rows(every)),
                    Step(aggregate("SORTBY"), shape.rows(every)))
    assert read_all(script, plans, read, facts) == ["1", "2", "3"]
    script.done()


def test_a_sorted_read_past_the_row_limit_pages_after_its_anchor(plans: ModelPlans[Part],
                                                                   shape: Shape) -> None:
    """MAXAGGREGATERESULTS 2: the second page is not LIMIT 2 2 (the server would refuse the
    offset) but the rows after the last one read, by its exact sort values from the document
    (keyset paging: scan.py, keyset.py)."""
    sorted_rows = [{**row(i, True), "qty": str(i), "id": str(i)} for i in (1, 2, 3)]

    def page_after(request: Request) -> bool:
        if not aggregate("SORTBY", "FILTER")(request):
            return False
        assert isinstance(request, Call)
        keyset = request.args[request.args.index("FILTER") + 1]  # rows after the anchor
        return "@qty" in keyset and "@id" in keyset and request.args[-3:] == ("LIMIT", "0", "2")

    script = Script(max_rows(shape, "2"), *ready_index(plans, shape),
                    Step(aggregate("SORTBY", "LIMIT"), shape.rows(sorted_rows[:2])),
                    # the anchor: the last row's exact sort values (RedisJSON answers several
                    # paths with an object keyed by path)
                    (("JSON.GET", KEY(2), ...),
                     shape.s(json.dumps({"$.qty": [2], "$.id": ["2"]}))),
                    Step(page_after, shape.rows(sorted_rows[2:])),
                    # short: asked again the way that drops dead rows first (keys only), and
                    # the document read by key
                    Step(page_after, shape.rows([{"__key": KEY(3), "qty": "3", "id": "3"}])),
                    (("JSON.MGET", KEY(3), "."), [shape.s(doc(3))]))
    found = script.run(plans.filter([order("qty")], ServerFacts(), watch=False))
    script.done()
    assert ids(found) == ["1", "2", "3"]


# -- reads inside a unit of work ------------------------------------------------------------------

def test_a_unit_of_work_read_searches_watches_and_searches_again(plans: ModelPlans[Part],
                                                                 shape: Shape) -> None:
    script = Script(max_rows(shape), *ready_index(plans, shape),
                    Step(aggregate("WITHCURSOR", absent=("$",)),
                         shape.cursor([row(1), row(2)], 0)),
                    (Watch((KEY(1), KEY(2))), shape.s("OK")),
                    # the second search reads the documents: its rows are the answer
                    Step(aggregate("WITHCURSOR", "$"),
                         shape.cursor([row(1, True), row(2, True)], 0)))
    found = script.run(plans.filter([filter_(name="a")], ServerFacts(), watch=True))
    script.done()
    assert ids(found) == ["1", "2"]


def test_a_unit_of_work_read_leaves_out_what_began_to_match_after_its_first_search(
        plans: ModelPlans[Part], shape: Shape) -> None:
    """Entity 3 appears only in the second search, which ran after the WATCH of 1 and 2: it
    was not watched before it was selected, so it is not returned (a phantom)."""
    script = Script(max_rows(shape), *ready_index(plans, shape),
                    Step(aggregate("WITHCURSOR"), shape.cursor([row(1), row(2)], 0)),
                    (Watch((KEY(1), KEY(2))), shape.s("OK")),
                    Step(aggregate("WITHCURSOR"),
                         shape.cursor([row(1, True), row(2, True), row(3, True)], 0)))
    found = script.run(plans.filter([filter_(name="a")], ServerFacts(), watch=True))
    script.done()
    assert ids(found) == ["1", "2"]


# -- commits --------------------------------------------------------------------------------------

def save_op(plans: ModelPlans[Part], **options: Any) -> Any:
    entity, found = plans.build(Part(id="1", name="a", qty=1), dict(options))
    return plans.save_op(entity, found)


def test_a_commit_whose_exec_is_aborted_raises_concurrency_error(plans: ModelPlans[Part]) -> None:
    op = save_op(plans)
    # a save clears the key's old TTL (as SET does) in the same EXEC
    sent = Exec((*write_commands(op), ("PERSIST", op.key)))
    script = Script((sent, WatchFailed("a watched key changed")))
    with pytest.raises(ConcurrencyError):
        script.run(plans.commit([op], reads_watched=True))
    script.done()
    assert script.requests == [sent]  # not retried: the reads may be stale


def test_only_create_retries_a_lost_race_and_then_reports_the_key_exists(
        plans: ModelPlans[Part], shape: Shape) -> None:
    """The EXISTS check said no, another client created the key before EXEC (the WATCH
    broke): the commit checks again, and this time the key exists."""
    op = save_op(plans, only_create=True)
    exists = Batch((("EXISTS", KEY(1)),))
    script = Script((Watch((KEY(1),)), shape.s("OK")), (exists, [0]),
                    (Exec(write_commands(op)), WatchFailed("a watched key changed")),
                    (Watch((KEY(1),)), shape.s("OK")), (exists, [1]))
    with pytest.raises(AlreadyExistsError):
        script.run(plans.commit([op], reads_watched=False))
    script.done()


def saves(plans: ModelPlans[Part], n: int) -> list[Any]:
    return [plans.save_op(*plans.build(Part(id=str(i), name="a", qty=i))) for i in range(n)]


def test_a_refused_persist_script_is_a_server_fact_then_keys_are_persisted_one_by_one(
        plans: ModelPlans[Part], shape: Shape) -> None:
    """Many saves clear their keys' old TTLs with one EVAL at the end of the MULTI; when the
    server refuses EVAL (an ACL), the commit is sent again with a PERSIST after each save, and
    the pool's ServerFacts remember it: the next commit sends no EVAL."""
    ops = saves(plans, 40)
    keys = tuple(op.key for op in ops)
    one_by_one = Exec(tuple(args for op in ops
                            for args in (*write_commands(op), ("PERSIST", op.key))))
    facts = ServerFacts(index_created={plans.index.name})  # no FT.CREATE to script

    def with_script(request: Request) -> bool:
        return isinstance(request, Exec) and request.commands[-1][0] == "EVAL" \
            and request.commands[-1][2:] == (len(keys), *keys) \
            and request.commands[:-1] == tuple(a for op in ops for a in write_commands(op))

    def ok(request: Request) -> list[Any]:
        assert isinstance(request, Exec)
        return [shape.s("OK")] * len(request.commands)

    script = Script(Step(with_script, RedisCommandError("NOPERM this user has no permissions "
                                                        "to run the 'eval' command")),
                    (one_by_one, ok))
    script.run(plans.commit(ops, reads_watched=False, facts=facts))
    script.done()
    assert facts.scripts_refused
    again = Script((one_by_one, ok))
    again.run(plans.commit(ops, reads_watched=False, facts=facts))
    again.done()


# -- bulk writes outside a unit of work -----------------------------------------------------------

def ok_per_command(shape: Shape) -> Any:
    return lambda request: [shape.s("OK")] * len(request.commands)


def still(shape: Shape, *keys: str) -> Step:
    """FT.SEARCH ... INKEYS of exactly these keys, every one still matching."""
    def check(request: Request) -> bool:
        if not (isinstance(request, Call) and request.args[0] == "FT.SEARCH"
                and "INKEYS" in request.args):
            return False
        at = request.args.index("INKEYS")
        return request.args[at + 1:at + 2 + len(keys)] == (str(len(keys)), *keys)
    return Step(check, shape.search_ids(len(keys), keys))


def test_a_bulk_update_whose_batch_watch_breaks_is_split_in_two(plans: ModelPlans[Part],
                                                                shape: Shape) -> None:
    keys = tuple(KEY(i) for i in (1, 2, 3, 4))
    script = Script(max_rows(shape), *ready_index(plans, shape),
                    Step(aggregate("WITHCURSOR"), shape.cursor([row(i) for i in (1, 2, 3, 4)],
                                                               0)),
                    (Watch(keys), shape.s("OK")), still(shape, *keys),
                    (Exec, WatchFailed("a watched key changed")),
                    (Watch(keys[:2]), shape.s("OK")), still(shape, *keys[:2]),
                    (Exec, ok_per_command(shape)),
                    (Watch(keys[2:]), shape.s("OK")), still(shape, *keys[2:]),
                    (Exec, ok_per_command(shape)))
    done, queued = script.run(plans.update_matches([filter_(name="a")], {"qty": 5},
                                                  ServerFacts(), queue=False))
    script.done()
    assert (done, queued) == (4, [])
    execs = [r for r in script.requests if isinstance(r, Exec)]
    # each half writes its own keys only
    assert {args[1] for args in execs[1].commands} == set(keys[:2])
    assert {args[1] for args in execs[2].commands} == set(keys[2:])


# -- count ----------------------------------------------------------------------------------------

def count_search(request: Request) -> bool:
    return (isinstance(request, Batch) and request.commands[0] == ("INFO", "keyspace")
            and request.commands[1][0] == "FT.SEARCH")


def test_count_quick_path_is_one_round_trip(plans: ModelPlans[Part], shape: Shape) -> None:
    """No key has a TTL (INFO keyspace, in the same round trip): the search's total is
    exact."""
    script = Script(*ready_index(plans, shape),
                    (count_search, [shape.keyspace(7, 0), shape.search_ids(3)]))
    assert script.run(plans.count([filter_(name="a")], ServerFacts())) == 3
    script.done()


def test_count_with_keys_that_expire_counts_live_rows(plans: ModelPlans[Part],
                                                      shape: Shape) -> None:
    """Keys with a TTL exist: an expired one may still be in the index, so the count is
    an FT.AGGREGATE of live rows instead."""
    def counted(request: Any) -> Any:
        alias = request.args[request.args.index("AS") + 1]  # the server names it so
        return shape.rows([{alias: "2"}])

    script = Script(*ready_index(plans, shape),
                    (count_search, [shape.keyspace(7, 1), shape.search_ids(3)]),
                    Step(aggregate("GROUPBY", "COUNT"), counted))
    assert script.run(plans.count([filter_(name="a")], ServerFacts())) == 2
    script.done()


def test_count_by_ids_is_one_exists_batch(plans: ModelPlans[Part]) -> None:
    script = Script((Batch((("EXISTS", KEY(1)), ("EXISTS", KEY(2)))), [1, 0]))
    assert script.run(plans.count([filter_(id__in=["1", "2"])], ServerFacts())) == 1
    script.done()


# -- timeouts are never partial answers -----------------------------------------------------------

def test_a_timeout_error_is_a_partial_result_error(plans: ModelPlans[Part], shape: Shape) -> None:
    script = Script(max_rows(shape), *ready_index(plans, shape),
                    Step(aggregate(), RedisCommandError("Timeout limit was reached")))
    with pytest.raises(PartialResultError):
        script.run(plans.filter([filter_(name="a")], ServerFacts(), watch=False))
    script.done()


@pytest.mark.parametrize("shape", [s for s in SHAPES if s.resp == 3], ids=str)
def test_a_timeout_warning_is_a_partial_result_error(plans: ModelPlans[Part], shape: Shape) -> None:
    """RESP3 shows ON_TIMEOUT RETURN's cut-short reply as a warning: it is refused."""
    script = Script(max_rows(shape), *ready_index(plans, shape),
                    Step(aggregate(), shape.cursor([row(1, True)], 0,
                                                   warnings=["Timeout limit was reached"])))
    with pytest.raises(PartialResultError):
        script.run(plans.filter([filter_(name="a")], ServerFacts(), watch=False))
    script.done()


@pytest.mark.parametrize(("policy", "resp", "refused"), [
    ("return", 2, True), ("fail", 2, False), ("return", 3, False)])
def test_a_query_timeout_needs_a_policy_that_shows_it(policy: str, resp: int,
                                                      refused: bool) -> None:
    """With query_timeout_ms, RESP2 and the server's ON_TIMEOUT RETURN a cut-short reply
    looks complete: refused before the query is sent."""
    shape = Shape(resp, False)
    plans = ModelPlans(Part, query_timeout_ms=5, index_check_interval=3600)
    script = Script(*ready_index(plans, shape),
                    (("FT.CONFIG", "GET", "ON_TIMEOUT"), shape.config("ON_TIMEOUT", policy)))
    if refused:
        with pytest.raises(InvalidQueryError, match="ON_TIMEOUT"):
            script.run(plans.count([filter_(name="a")], ServerFacts()))
    else:
        script.add((count_search, [shape.keyspace(1, 0), shape.search_ids(1)]))
        assert script.run(plans.count([filter_(name="a")], ServerFacts())) == 1
        sent = script.requests[-1]
        assert isinstance(sent, Batch)
        search = sent.commands[1]
        assert search[search.index("TIMEOUT") + 1] == "5"  # the repository's limit is sent
    script.done()
