"""Optional OpenTelemetry tracing: a span per repository operation (README, "Operations").

Needs only ``opentelemetry-api`` (the ``otel`` extra); without it, or while the application
has set no tracer provider, nothing is traced and an operation costs one check.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

_otel: Any
try:
    from opentelemetry import trace as _otel
except ImportError:  # the otel extra is not installed: tracing stays off
    _otel = None

#: ``isinstance(provider(), OFF)``: no tracer provider is set. ``provider`` is a C-level
#: call (the API's global, read without running Python), so the drivers check it on every
#: operation for about 0.1 µs: ``get_tracer_provider()`` costs several times that (it looks
#: up an environment variable while no provider is set).
provider: Any
OFF: tuple[type, ...]
if _otel is None:
    provider, OFF = type(None), (type(None),)  # provider() is None
elif hasattr(_otel, "_TRACER_PROVIDER") and \
        "OTEL_PYTHON_TRACER_PROVIDER" not in os.environ:
    provider = functools.partial(getattr, _otel, "_TRACER_PROVIDER")  # None until set
    OFF = (type(None), _otel.ProxyTracerProvider, _otel.NoOpTracerProvider)
else:  # a provider named in the environment: the API loads it on first use
    provider = _otel.get_tracer_provider
    OFF = (_otel.ProxyTracerProvider, _otel.NoOpTracerProvider)

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
