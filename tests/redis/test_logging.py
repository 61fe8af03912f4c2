"""Issue 13, logging: a DEBUG line per command on ``assimilator_stack.commands`` (values only
with ``settings.log_values``), a WARNING on ``assimilator_stack.queries`` for a slow
operation, and silence by default."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import redis

from assimilator_stack import filter_
from assimilator_stack.settings import settings
from tests.support.query_models import Thing

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t-value"

pytestmark = pytest.mark.both_apis


def records(caplog: pytest.LogCaptureFixture, logger: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == logger]


def test_one_debug_line_per_command_without_values(
        make_repo: Any, caplog: pytest.LogCaptureFixture) -> None:
    repo = make_repo(Thing)
    repo.save(Thing(id=SECRET, name=SECRET))
    repo.count()  # the index and server facts are known: the next calls send their own only
    with caplog.at_level(logging.DEBUG, logger="assimilator_stack.commands"):
        assert repo.get(filter_(id=SECRET)).name == SECRET
        assert len(repo.filter(filter_(name=SECRET))) == 1
    lines = [r.getMessage() for r in records(caplog, "assimilator_stack.commands")]
    assert lines[0].startswith("JSON.GET (1 keys) keys=1 ") and lines[0].endswith(" ms"), lines
    searches = [m for m in lines if m.startswith("FT.AGGREGATE")]
    assert searches and "@name" in searches[0], lines
    assert not any(SECRET in m for m in lines), lines
    assert all(r.levelno == logging.DEBUG for r in records(caplog, "assimilator_stack.commands"))


def test_values_are_shown_only_when_asked(make_repo: Any, caplog: pytest.LogCaptureFixture,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo(Thing)
    repo.save(Thing(id=SECRET))
    monkeypatch.setattr(settings, "log_values", True)
    with caplog.at_level(logging.DEBUG, logger="assimilator_stack.commands"):
        repo.get(filter_(id=SECRET))
    lines = [r.getMessage() for r in records(caplog, "assimilator_stack.commands")]
    assert any("JSON.GET" in m and SECRET in m for m in lines), lines


def test_a_commit_logs_each_command_of_its_transaction(
        make_uow: Any, caplog: pytest.LogCaptureFixture) -> None:
    uow = make_uow(Thing)
    with caplog.at_level(logging.DEBUG, logger="assimilator_stack.commands"), uow:
        uow.repository.save(Thing(id="a"))
        uow.repository.save(Thing(id="b"))
        uow.commit()
    lines = [r.getMessage() for r in records(caplog, "assimilator_stack.commands")]
    sets = [m for m in lines if m.startswith("JSON.SET (1 keys)")]
    assert len(sets) == 2 and all("in MULTI/EXEC of" in m for m in sets), lines


def test_a_slow_operation_is_a_warning(make_repo: Any, caplog: pytest.LogCaptureFixture,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo(Thing)
    repo.save(Thing(id="x", name=SECRET))
    repo.count()
    with caplog.at_level(logging.WARNING, logger="assimilator_stack.queries"):
        repo.filter(filter_(name=SECRET))
    assert records(caplog, "assimilator_stack.queries") == []  # 500 ms by default
    monkeypatch.setattr(settings, "slow_query_ms", 0.0001)
    with caplog.at_level(logging.WARNING, logger="assimilator_stack.queries"):
        repo.filter(filter_(name=SECRET))
    [warning] = records(caplog, "assimilator_stack.queries")
    assert warning.levelno == logging.WARNING
    assert warning.getMessage().startswith("Thing.filter took ")
    assert SECRET not in warning.getMessage()
    monkeypatch.setattr(settings, "slow_query_ms", 0)  # 0: never
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="assimilator_stack.queries"):
        repo.filter(filter_(name=SECRET))
    assert records(caplog, "assimilator_stack.queries") == []


@pytest.mark.sync_only
def test_silent_by_default(redis_stack_url: str, redis_client: redis.Redis) -> None:
    """No handler configured: a warning of the library prints nothing (Python's last-resort
    handler would print it to stderr without the library's NullHandler)."""
    script = textwrap.dedent(f"""
        import redis
        from assimilator_stack import RedisRepository, filter_
        from assimilator_stack.settings import settings
        from tests.support.query_models import Thing
        settings.slow_query_ms = 0.0001
        repo = RedisRepository(redis.Redis.from_url({redis_stack_url!r}), Thing)
        repo.save(Thing(id="q"))
        assert len(repo.filter(filter_(id__in=["q", "r"]))) == 1
        import logging
        assert any(isinstance(h, logging.NullHandler)
                   for h in logging.getLogger("assimilator_stack").handlers)
        print("done")
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "done" and done.stderr == ""
