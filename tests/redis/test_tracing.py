"""Issue 13, tracing: one OpenTelemetry span per repository operation, captured with the
SDK's in-memory exporter (the test extra), and nothing at all without the API package."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from opentelemetry.util._once import Once

from assimilator_stack import NotFoundError, filter_, tracing
from tests.support.query_models import Thing

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t-value"

pytestmark = pytest.mark.both_apis


def _reset_globals() -> None:
    # What opentelemetry's own test utilities do: the global provider may be set once per
    # process, and the rest of the suite must run untraced.
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    _reset_globals()
    trace.set_tracer_provider(provider)
    try:
        yield exporter
    finally:
        _reset_globals()
        provider.shutdown()


def ours(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name.startswith("assimilator_stack.")]


def test_a_span_per_operation(api: str, make_repo: Any, make_uow: Any,
                              spans: InMemorySpanExporter) -> None:
    repo = make_repo(Thing)
    repo.save(Thing(id="a", name=SECRET, age=3))
    repo.save(Thing(id="b", name="other", age=4))
    assert repo.get(filter_(id="a")).name == SECRET
    assert len(repo.filter(filter_(name=SECRET))) == 1
    assert repo.count(filter_(age__gte=3)) == 2
    uow = make_uow(Thing)
    with uow:
        uow.repository.save(Thing(id="c"))
        uow.commit()
    names = [s.name for s in ours(spans)]
    # (the async save inside the unit of work runs a plan that only queues: a span too)
    queued = ["assimilator_stack.save"] if api == "async" else []
    assert names == ["assimilator_stack.save", "assimilator_stack.save",
                     "assimilator_stack.get", "assimilator_stack.filter",
                     "assimilator_stack.count", *queued, "assimilator_stack.commit"], names
    by_name = {s.name: s for s in ours(spans)}
    for span in ours(spans):
        assert span.attributes is not None
        assert span.attributes["assimilator_stack.model"] == "Thing"
        assert span.attributes["db.system"] == "redis"
        assert span.kind == trace.SpanKind.CLIENT
        assert span.status.status_code != StatusCode.ERROR
        assert not any(SECRET in str(v) for v in span.attributes.values()), span.attributes
    found = by_name["assimilator_stack.filter"].attributes
    assert found is not None and found["assimilator_stack.rows"] == 1
    [search] = found["assimilator_stack.commands"]  # type: ignore[misc]
    assert search.startswith("FT.AGGREGATE ") and "'@name'" in search, search
    assert found["db.query.text"] == search
    counted = by_name["assimilator_stack.count"].attributes
    assert counted is not None and counted["assimilator_stack.rows"] == 2
    got = by_name["assimilator_stack.get"].attributes
    assert got is not None and got["assimilator_stack.rows"] == 1
    assert "assimilator_stack.commands" not in got  # by id: JSON.GET, no search


def test_a_failed_operation_is_an_error_span(make_repo: Any,
                                              spans: InMemorySpanExporter) -> None:
    repo = make_repo(Thing)
    with pytest.raises(NotFoundError):
        repo.get(filter_(id="missing"))
    [span] = ours(spans)
    assert span.name == "assimilator_stack.get"
    assert span.status.status_code == StatusCode.ERROR
    assert any(e.name == "exception" for e in span.events)


@pytest.mark.sync_only
def test_the_span_is_a_child_of_the_callers(make_repo: Any,
                                            spans: InMemorySpanExporter) -> None:
    repo = make_repo(Thing)
    with trace.get_tracer("app").start_as_current_span("request") as parent:
        repo.count()
    [span] = ours(spans)
    assert span.parent is not None
    assert span.parent.span_id == parent.get_span_context().span_id


@pytest.mark.sync_only
def test_nothing_is_traced_without_a_provider(make_repo: Any) -> None:
    assert not tracing.enabled()
    with tracing.span("assimilator_stack.x", {}) as made:
        assert made is None


@pytest.mark.sync_only
def test_nothing_happens_without_the_api_package(redis_stack_url: str,
                                                 redis_client: redis.Redis) -> None:
    script = textwrap.dedent(f"""
        import sys
        sys.modules["opentelemetry"] = None  # as if opentelemetry-api were not installed
        import redis
        from assimilator_stack import RedisRepository, filter_, tracing
        from tests.support.query_models import Thing
        assert tracing._otel is None and not tracing.enabled()
        repo = RedisRepository(redis.Redis.from_url({redis_stack_url!r}), Thing)
        repo.save(Thing(id="q", age=1))
        assert [t.id for t in repo.filter(filter_(age=1))] == ["q"]
        print("done")
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "done"
