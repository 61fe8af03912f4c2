"""Checking answers: a contender whose answer differs from the true one has its timing voided,
and the mismatch is printed loudly."""

from __future__ import annotations

from typing import Any

from .workloads import Truth

OK = "ok"
WRONG = "wrong"


def check(workload: str, result: dict[str, Any], truth: Truth) -> dict[str, Any]:
    """Mark ``result`` (one contender, one workload) right or wrong; return it."""
    if result.get("status") != OK:
        return result
    answer = result.get("answer")
    expected = truth.expected(workload, answer)
    if answer != expected:
        result["status"] = WRONG
        result["expected"] = expected
    return result


def loud(label: str, n: int, workload: str, result: dict[str, Any]) -> str:
    """The banner printed for a wrong answer."""
    got, want = _short(result.get("answer")), _short(result.get("expected"))
    line = "!" * 78
    return (f"{line}\n!! WRONG ANSWER: {label}, N={n:,}, workload {workload!r}: timing voided\n"
            f"!!   got      {got}\n!!   expected {want}\n{line}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."
