"""Process-wide settings of the library's observability and index bookkeeping (README,
"Operations"). Each is read once from its environment variable at import and may be changed
at run time: ``from assimilator_stack.settings import settings; settings.slow_query_ms = 50``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None
    if not value >= 0:
        raise ValueError(f"{name} must be >= 0, got {raw!r}")
    return value


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass
class Settings:
    #: A repository operation slower than this logs a WARNING on ``assimilator_stack.queries``
    #: (0: never). ``ASSIMILATOR_STACK_SLOW_QUERY_MS``.
    slow_query_ms: float = 500.0
    #: DEBUG lines of ``assimilator_stack.commands`` show the arguments (keys and values),
    #: not only the command's name and shape. Off by default: values may be personal data.
    #: ``ASSIMILATOR_STACK_LOG_VALUES=1``.
    log_values: bool = False
    #: How often (seconds) a process records in Redis that it still uses its index, so that
    #: ``repo.index.prune(idle=...)`` knows which indexes are in use.
    #: ``ASSIMILATOR_STACK_INDEX_USE_INTERVAL``.
    index_use_interval: float = 60.0

    @classmethod
    def from_environment(cls) -> Settings:
        return cls(
            slow_query_ms=_number("ASSIMILATOR_STACK_SLOW_QUERY_MS", cls.slow_query_ms),
            log_values=_flag("ASSIMILATOR_STACK_LOG_VALUES"),
            index_use_interval=_number("ASSIMILATOR_STACK_INDEX_USE_INTERVAL",
                                       cls.index_use_interval),
        )


settings = Settings.from_environment()
