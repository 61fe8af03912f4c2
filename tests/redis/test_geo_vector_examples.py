"""README's "Geo" and "Vectors" examples run as written (examples/geo_stores.py and
examples/semantic_search.py, each checking its own answers) on the test server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("script", "says"), [
    ("geo_stores.py", "bakeries within 3 km: ['louvre', 'bastille']"),
    ("semantic_search.py", "warm red winter jacket"),
])
def test_example_runs(script: str, says: str, redis_stack_url: str,
                      redis_client: redis.Redis) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "examples" / script)],
                          env={**os.environ, "REDIS_URL": redis_stack_url},
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert says in done.stdout
