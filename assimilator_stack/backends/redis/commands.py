"""Every Redis command the backend sends, built here (and only here) as an argument tuple.

Plans yield these tuples (protocol.py); their replies are parsed in replies.py. Values are
always separate arguments (or query PARAMS), never spliced into a command's shape.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...documents.writes import (
    AppendPath,
    DeleteKey,
    DeletePath,
    Expire,
    SetDocument,
    SetPath,
    Step,
    WriteOp,
)
from .protocol import Args
from .slots import by_slot
from .sort_keys import SortKey

# -- keys and documents -----------------------------------------------------------------------


def json_get(key: str, *paths: str) -> Args:
    return ("JSON.GET", key, *paths)


def json_mget(keys: Sequence[str]) -> Args:
    return ("JSON.MGET", *keys, ".")


def exists(key: str) -> Args:
    return ("EXISTS", key)


def delete(*keys: str) -> Args:
    return ("DEL", *keys)


def persist(key: str) -> Args:
    return ("PERSIST", key)


def info_keyspace() -> Args:
    return ("INFO", "keyspace")


# Clears the TTL of every key given (one EVAL instead of a PERSIST per key, see writes.py).
PERSIST_SCRIPT = "for i = 1, #KEYS do redis.call('PERSIST', KEYS[i]) end return #KEYS"


def persist_all(keys: Sequence[str]) -> Args:
    return ("EVAL", PERSIST_SCRIPT, len(keys), *keys)


def step_command(key: str, step: Step, condition: str | None = None) -> Args:
    """The command of one write step on ``key`` (``condition``: NX / XX of a whole save)."""
    if isinstance(step, SetDocument):
        return ("JSON.SET", key, "$", step.document) + ((condition.upper(),) if condition else ())
    if isinstance(step, SetPath):
        return ("JSON.SET", key, step.path, step.value)
    if isinstance(step, DeletePath):
        return ("JSON.DEL", key, step.path)
    if isinstance(step, AppendPath):
        return ("JSON.ARRAPPEND", key, step.path, step.value)
    if isinstance(step, Expire):
        return ("PEXPIRE" if step.unit == "ms" else "EXPIRE", key, step.amount)
    assert isinstance(step, DeleteKey)
    return delete(key)


def write_commands(op: WriteOp) -> tuple[Args, ...]:
    """The commands of ``op``'s steps (without the PERSIST a save may need: writes.py)."""
    return tuple(step_command(op.key, step, op.condition) for step in op.steps)


# -- FT.AGGREGATE: every read of a query -------------------------------------------------------
# Each read is an FT.AGGREGATE (DIALECT 2, explicit TIMEOUT) whose rows carry the document key
# (``@__key``), after a ``FILTER exists(@__key)`` that drops keys which expired but are not yet
# reclaimed (their rows have no key), so pages, counts and ``get`` never count dead keys.
# Sorting is ``SORTBY`` over every order key plus the id (sort_keys.py); past the server's
# MAXAGGREGATERESULTS an ordered scan continues after the last row it read (keyset.py).

KEY_FIELD = "__key"


# Rows of keys that expired but are not yet reclaimed have no @__key once loaded.
LIVE_ROWS: tuple[str, ...] = ("LOAD", "1", f"@{KEY_FIELD}", "FILTER", f"exists(@{KEY_FIELD})")


# The same, with each row's whole document (``$`` is exact JSON), saving a JSON.MGET.
DOCUMENT_FIELD = "$"


LIVE_DOCUMENTS: tuple[str, ...] = ("LOAD", "2", f"@{KEY_FIELD}", DOCUMENT_FIELD,
                                   "FILTER", f"exists(@{KEY_FIELD})")


COUNT_FIELD = "n"


def sortby_args(keys: Sequence[SortKey]) -> tuple[str, ...]:
    args: list[str] = []
    for key in keys:
        args += [f"@{key.attribute}", "DESC" if key.desc else "ASC"]
    return ("SORTBY", str(len(args)), *args)


def aggregate(index: str, where: str, params: Sequence[str | bytes], steps: Sequence[str],
              timeout_ms: int) -> Args:
    """``FT.AGGREGATE`` with the query options first, then the pipeline ``steps``."""
    return ("FT.AGGREGATE", index, where, *params, "TIMEOUT", str(timeout_ms),
            "DIALECT", "2", *steps)


def count_steps() -> tuple[str, ...]:
    return (*LIVE_ROWS, "GROUPBY", "0", "REDUCE", "COUNT", "0", "AS", COUNT_FIELD)


def window_steps(keys: Sequence[SortKey] | None, offset: int, num: int,
                 after_expr: str | None = None, *, sort_first: bool = False,
                 documents: bool = False) -> tuple[str, ...]:
    """Rows ``offset .. offset+num`` (sorted by ``keys``; unsorted when None) after the
    keyset condition ``after_expr``.

    By default dead rows are dropped before sorting, which reads the key of every match.
    ``sort_first`` sorts on the index alone and reads keys only of the ``offset + num`` rows
    kept (``MAX``): much cheaper, but a window holding dead rows then comes back short, so a
    short answer must be asked again without it (see OrderedScan). ``documents`` also loads
    each kept row's document, where that reads no more documents than the rows returned.
    """
    steps: list[str] = []
    if after_expr is not None:
        # Before LOAD: sort attributes come from the index, so this costs no document read
        # (those not SORTABLE are read from the documents first).
        loaded = [f"@{k.attribute}" for k in keys or () if not k.in_index]
        if loaded:
            steps += ["LOAD", str(len(loaded)), *loaded]
        steps += ["FILTER", after_expr]
    if keys is not None and sort_first:
        steps += [*sortby_args(keys), "MAX", str(offset + num),
                  *(LIVE_DOCUMENTS if documents else LIVE_ROWS)]
    elif keys is None:  # unsorted rows stream through LOAD until LIMIT has enough
        steps += LIVE_DOCUMENTS if documents else LIVE_ROWS
    else:
        steps += LIVE_ROWS
        if keys is not None:
            steps += sortby_args(keys)
    steps += ["LIMIT", str(offset), str(num)]
    return tuple(steps)


def cursor_steps(batch: int, documents: bool = False) -> tuple[str, ...]:
    return (*(LIVE_DOCUMENTS if documents else LIVE_ROWS), "WITHCURSOR", "COUNT", str(batch))


def anchor_paths(keys: Sequence[SortKey]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(key.path for key in keys))


# -- FT.SEARCH: relevance, a quick count, which keys still match --------------------------------


def search(index: str, where: str, params: Sequence[str | bytes], options: Sequence[str], num: int,
           timeout_ms: int) -> Args:
    """``FT.SEARCH`` of the first ``num`` matches, with ``options`` (WITHSCORES, NOCONTENT,
    INKEYS ...) before LIMIT."""
    return ("FT.SEARCH", index, where, *params, *options, "LIMIT", "0", str(num),
            "TIMEOUT", str(timeout_ms), "DIALECT", "2")


def ranked_search(index: str, where: str, params: Sequence[str | bytes], num: int,
                  timeout_ms: int) -> Args:
    """The keys and exact scores of the ``num`` most relevant matches."""
    return search(index, where, params, ("WITHSCORES", "NOCONTENT"), num, timeout_ms)


def matching_among(index: str, where: str, params: Sequence[str | bytes], keys: Sequence[str],
                   content: bool, timeout_ms: int) -> Args:
    """Which of ``keys`` match (with their documents when ``content``)."""
    return search(index, where, params,
                  ("INKEYS", str(len(keys)), *keys, *(() if content else ("NOCONTENT",))),
                  len(keys), timeout_ms)


# -- the index and the server's settings ---------------------------------------------------------


def is_search(args: Args) -> bool:
    """Does ``args`` query the index (FT.AGGREGATE / FT.SEARCH)?"""
    return args[0] in ("FT.AGGREGATE", "FT.SEARCH")


def ft_info(index: str) -> Args:
    return ("FT.INFO", index)


def ft_create(index: str, schema_args: Sequence[str]) -> Args:
    return ("FT.CREATE", index, *schema_args)


def ft_config_get(name: str) -> Args:
    return ("FT.CONFIG", "GET", name)


# -- the index lifecycle (lifecycle.py) and the record of indexes in use (uses.py) --------------


def ft_list() -> Args:
    return ("FT._LIST",)


def ft_aliasupdate(alias: str, index: str) -> Args:
    return ("FT.ALIASUPDATE", alias, index)


def ft_dropindex(index: str) -> Args:
    """Never with DD: the documents stay."""
    return ("FT.DROPINDEX", index)


def record_use(registry: str, index: str, unix_time: float) -> Args:
    return ("HSET", registry, index, f"{unix_time:.3f}")


def record_first_use(registry: str, index: str, unix_time: float) -> Args:
    return ("HSETNX", registry, index, f"{unix_time:.3f}")


def forget_use(registry: str, index: str) -> Args:
    return ("HDEL", registry, index)


def read_uses(registry: str) -> Args:
    return ("HGETALL", registry)


def cursor_read(index: str, cursor: int, count: int) -> Args:
    return ("FT.CURSOR", "READ", index, str(cursor), "COUNT", str(count))


def cursor_delete(index: str, cursor: int) -> Args:
    return ("FT.CURSOR", "DEL", index, str(cursor))


# -- nearness: knn(...) and order(Distance(...)) (nearness.py) ----------------------------------

KNN_FIELD = "__knn"
DISTANCE_FIELD = "__dist"
_BEYOND_EARTH = 100_000_000  # metres: more than any distance on Earth


def knn_search(index: str, where: str, params: dict[str, str | bytes], attribute: str, blob: bytes,
               num: int, ef_runtime: int | None, timeout_ms: int) -> Args:
    """``FT.SEARCH <index> "(<where>)=>[KNN $knn_k @attr $knn_vec AS __knn]" ... SORTBY __knn``:
    the ``num`` nearest matches with their distance and document (``$``, exact JSON). The
    query vector (a FLOAT32 blob), K and EF_RUNTIME are parameters."""
    ef = " EF_RUNTIME $knn_ef" if ef_runtime is not None else ""
    target = f"[KNN $knn_k @{attribute} $knn_vec{ef} AS {KNN_FIELD}]"
    query = f"*=>{target}" if where == "*" else f"({where})=>{target}"
    flat: list[str | bytes] = []
    for name, value in params.items():
        flat += [name, value]
    flat += ["knn_k", str(num), "knn_vec", blob]
    if ef_runtime is not None:
        flat += ["knn_ef", str(ef_runtime)]
    return ("FT.SEARCH", index, query, "PARAMS", str(len(flat)), *flat,
            "SORTBY", KNN_FIELD, "ASC", "RETURN", "2", KNN_FIELD, DOCUMENT_FIELD,
            "LIMIT", "0", str(num), "TIMEOUT", str(timeout_ms), "DIALECT", "2")


def distance_steps(attribute: str, centre: str, descending: bool, id_attribute: str,
                   want: int) -> tuple[str, ...]:
    """The FT.AGGREGATE pipeline of the ``want`` matches with a position, nearest (farthest)
    first, ties by id: ``geodistance()`` of each row's stored ``"lon,lat"`` from ``centre``
    (a FILTER string literal). A JSON null position gives NaN, which ``exists()`` keeps and
    ``<`` drops (RediSearch 2.10's ``>=``, ``<=`` and ``==`` keep it). Keys and positions are
    loaded for every match (dead keys dropped first, so a window is never short for them)."""
    alias = f"@{attribute}"
    return ("LOAD", "2", f"@{KEY_FIELD}", alias,
            "FILTER", f"exists(@{KEY_FIELD}) && exists({alias})",
            "APPLY", f"geodistance({alias},{centre})", "AS", DISTANCE_FIELD,
            "FILTER", f"@{DISTANCE_FIELD} < {_BEYOND_EARTH}",
            "SORTBY", "4", f"@{DISTANCE_FIELD}", "DESC" if descending else "ASC",
            f"@{id_attribute}", "ASC", "MAX", str(want))


# -- Redis Cluster (cluster_driver.py) -------------------------------------------------------

# Commands whose arguments are all keys (JSON.MGET: all but the last, the path): how many
# arguments at the end are not keys.
_MULTI_KEY = {"JSON.MGET": 1, "DEL": 0, "EXISTS": 0, "UNLINK": 0, "TOUCH": 0}

# Does the node's query engine search across shards? (replies.search_coordinator)
COORDINATOR_PROBES: tuple[Args, Args] = (("COMMAND", "LIST", "FILTERBY", "PATTERN", "_FT.*"),
                                         ("MODULE", "LIST"))


def _name(args: Args) -> str:
    first = args[0]
    return (first.decode() if isinstance(first, bytes) else str(first)).upper()


def is_index_command(args: Args) -> bool:
    """An FT.* command: on a cluster, it goes to the node whose coordinator answers."""
    return _name(args).startswith("FT.")


def is_keyed(args: Args) -> bool:
    """A command a cluster client routes by its keys (not FT.*, not INFO)."""
    return not is_index_command(args) and _name(args) != "INFO"


def is_info(args: Args) -> bool:
    return _name(args) == "INFO"


def per_slot(args: Args) -> list[Args] | None:
    """A multi-key command whose keys span hash slots, as one command per slot, in the order
    of each slot's first key (None: send it as it is). replies.joined puts the replies back."""
    tail = _MULTI_KEY.get(_name(args))
    if tail is None or len(args) - tail <= 2:
        return None
    groups = by_slot(list(args[1:len(args) - tail]))
    if len(groups) == 1:
        return None
    return [(args[0], *group, *args[len(args) - tail:]) for group in groups]


def transaction(commands: Sequence[Args]) -> list[Args]:
    """MULTI, ``commands``, EXEC (one packet, slot_transaction.py)."""
    return [("MULTI",), *commands, ("EXEC",)]


def watch(keys: Sequence[str]) -> Args:
    return ("WATCH", *keys)


def unwatch() -> Args:
    return ("UNWATCH",)
