"""Timed loops with a run target and a time budget, and their summaries. Standard library only."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Budget:
    """Run ``target`` times, but stop once ``seconds`` have passed and ``minimum`` runs are in."""

    target: int
    minimum: int
    seconds: float


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds one call of ``fn`` took, and what it returned."""
    start = time.perf_counter_ns()
    result = fn()
    return (time.perf_counter_ns() - start) / 1e9, result


def repeat(fn: Callable[[], Any], budget: Budget) -> list[float]:
    """Seconds per call of ``fn``, called as ``budget`` allows."""
    samples: list[float] = []
    deadline = time.perf_counter() + budget.seconds
    while len(samples) < budget.target:
        start = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - start) / 1e9)
        if len(samples) >= budget.minimum and time.perf_counter() > deadline:
            break
    return samples


def each(fn: Callable[[Any], Any], args: Sequence[Any], budget: Budget,
         keep: Callable[[Any], Any]) -> tuple[list[float], list[Any]]:
    """Seconds of ``fn(arg)`` for the arguments in order (as many as ``budget`` allows), and
    ``keep(result)`` of each call, computed outside the timed region."""
    samples: list[float] = []
    kept: list[Any] = []
    deadline = time.perf_counter() + budget.seconds
    for arg in args[: budget.target]:
        start = time.perf_counter_ns()
        result = fn(arg)
        samples.append((time.perf_counter_ns() - start) / 1e9)
        kept.append(keep(result))
        if len(samples) >= budget.minimum and time.perf_counter() > deadline:
            break
    return samples, kept


def summary(samples: Sequence[float]) -> dict[str, float | int]:
    """Median, min, max (seconds) and how many samples."""
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "runs": len(samples),
    }
