"""Several rounds of one contender's workload merged into one result.

Other processes share this machine, so one round can be slowed by a neighbour. Rounds run
contender after contender (A B A B ...), and the merged result keeps the round with the lowest
median (its min-max too), the medians of every round, and the worst memory growth. A round
that answered wrong or failed makes the merged result wrong or failed.
"""

from __future__ import annotations

from typing import Any


def merge(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    if len(rounds) == 1:
        return rounds[0]
    for status in ("wrong", "error", "not_available"):
        for result in rounds:
            if result.get("status") == status:
                return result
    best = min(rounds, key=lambda r: float(r["samples"]["median"]))
    merged = dict(best)
    merged["round_medians"] = [r["samples"]["median"] for r in rounds]
    memories = [r["memory"] for r in rounds if r.get("memory")]
    if memories:
        merged["memory"] = max(memories, key=lambda m: float(m["growth_mib"]))
    return merged
