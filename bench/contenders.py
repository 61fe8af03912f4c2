"""The registry of contenders: what each installs into its own venv and which worker runs it.

Adding one is a few lines: a worker module under ``bench/workers/`` with an ``Adapter``
(``base.AsyncAdapter`` for an asyncio library: it awaits each coroutine with ``self.run(...)``
on one long-lived loop, as ``workers/stack_async.py`` does), and one entry below.
"""

from __future__ import annotations

from dataclasses import dataclass

FLOOR = "raw"
OURS = "stack"


@dataclass(frozen=True)
class Contender:
    key: str
    label: str
    worker: str  # module run as ``python -m`` inside the venv, from the repository root
    requirements: tuple[str, ...]  # pip requirement strings
    editable: bool = False  # also ``pip install -e <repo root>`` (assimilator_stack itself)
    quick: bool = False  # installs in seconds: part of the default smoke run
    ours: bool = False  # a flavour of this library (the peers are compared against these)
    venv: str = ""  # the venv's name under bench/.venvs (default: the key); may be shared

    @property
    def venv_name(self) -> str:
        return self.venv or self.key


_STACK = ("hiredis", "pyinstrument")

CONTENDERS: dict[str, Contender] = {
    c.key: c
    for c in (
        Contender(FLOOR, "raw redis-py", "bench.workers.raw",
                  requirements=("redis", "hiredis", "pydantic>=2", "pyinstrument"), quick=True),
        Contender(OURS, "assimilator_stack", "bench.workers.stack_sync",
                  requirements=_STACK, editable=True, quick=True, ours=True),
        Contender("stack_async", "assimilator_stack async", "bench.workers.stack_async",
                  requirements=_STACK, editable=True, quick=True, ours=True, venv=OURS),
        Contender("redis_om", "redis-om", "bench.workers.om",
                  requirements=("redis-om", "hiredis")),
        Contender("py_assimilator", "py-assimilator 1.3.1", "bench.workers.py_assimilator",
                  requirements=("py-assimilator[redis]==1.3.1", "hiredis")),
    )
}


def select(keys: str | None, quick_only: bool) -> list[Contender]:
    """Contenders named in ``keys`` (comma-separated), or all of them (the quick ones when
    ``quick_only``). The floor always comes first: ratios are computed against it."""
    if keys:
        names = [k.strip() for k in keys.split(",") if k.strip()]
        unknown = [k for k in names if k not in CONTENDERS]
        if unknown:
            raise SystemExit(
                f"unknown contender(s) {', '.join(unknown)}; known: {', '.join(CONTENDERS)}"
            )
        chosen = [CONTENDERS[k] for k in names]
    else:
        chosen = [c for c in CONTENDERS.values() if c.quick or not quick_only]
    return sorted(chosen, key=lambda c: c.key != FLOOR)
