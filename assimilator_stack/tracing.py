"""Optional OpenTelemetry tracing: a span per repository operation (README, "Operations").

Needs only ``opentelemetry-api`` (the ``otel`` extra); without it, or while the application
has set no tracer provider, nothing is traced and an operation costs one check.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

_otel: Any
try:
    from opentelemetry import trace as _otel
except ImportError:  # the otel extra is not installed: tracing stays off
    _otel = None

#: ``isinstance(provider(), OFF)``: no tracer provider is set. Both are C-level or
#: OpenTelemetry calls, so the drivers check them on every operation without a frame of ours.
if _otel is not None:
    provider: Any = _otel.get_tracer_provider
    OFF: tuple[type, ...] = (_otel.ProxyTracerProvider, _otel.NoOpTracerProvider)
else:
    provider = type(None)  # provider() is None
    OFF = (type(None),)

Attribute = str | int | float | bool | Sequence[str]


def enabled() -> bool:
    return not isinstance(provider(), OFF)


@contextlib.contextmanager
def span(name: str, attributes: Mapping[str, Attribute]) -> Iterator[Any]:
    """A span made current while the block runs (None when tracing is off); an exception
    leaving the block is recorded on it and sets its status to ERROR."""
    if _otel is None or not enabled():
        yield None
        return
    tracer = _otel.get_tracer("assimilator_stack")
    kind = _otel.SpanKind.CLIENT
    with tracer.start_as_current_span(name, kind=kind, attributes=dict(attributes)) as made:
        yield made
