"""Redis memory per stored entity: ``INFO memory`` ``used_memory`` before and after a load
(documents, keys and every search index: RediSearch allocates through Redis, so its memory is
in ``used_memory``), with the index's own share from ``FT.INFO``.

Used by the harness (runner.py, around each contender's load phase) and by bench/cpu.py.
"""

from __future__ import annotations

import contextlib
from typing import Any

# FT.INFO sizes (MiB) summed over the indexes; "index" is their total.
INDEX_SIZES = ("inverted_sz_mb", "offset_vectors_sz_mb", "doc_table_size_mb",
               "sortable_values_size_mb", "key_table_size_mb", "tag_overhead_sz_mb",
               "text_overhead_sz_mb")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def used_memory(client: Any) -> int:
    """Bytes Redis has allocated (``used_memory``)."""
    return int(client.info("memory")["used_memory"])


def index_bytes(client: Any, names: list[str] | None = None) -> dict[str, int]:
    """FT.INFO sizes of these indexes (default: every index on the server), in bytes,
    summed over the indexes."""
    out = dict.fromkeys(INDEX_SIZES, 0)
    for name in names if names is not None else client.execute_command("FT._LIST"):
        reply = client.execute_command("FT.INFO", _text(name))
        info = ({_text(k): v for k, v in reply.items()} if isinstance(reply, dict)
                else {_text(k): v for k, v in zip(reply[0::2], reply[1::2])})
        for size in INDEX_SIZES:
            with contextlib.suppress(ValueError):
                out[size] += round(float(_text(info.get(size, 0))) * 1024 * 1024)
    out["index"] = sum(out[s] for s in INDEX_SIZES)
    return out


def per_entity(before: int, after: int, indexes: dict[str, int], n: int) -> dict[str, Any]:
    """The memory a load of ``n`` entities added, per entity (bytes)."""
    total = (after - before) / n
    index = indexes.get("index", 0) / n
    return {
        "n": n,
        "bytes_per_entity": round(total),
        "index_bytes_per_entity": round(index),
        "rest_bytes_per_entity": round(total - index),  # documents, keys, dict overhead
        "index_parts": {k: round(v / n) for k, v in indexes.items() if k != "index"},
    }
