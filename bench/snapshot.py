"""A committed revision of this repository, unpacked outside the working tree.

Other engineers edit the working tree while benchmarks run; ``--stack-ref HEAD`` measures what
is committed instead of whatever is half-edited at that moment.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path


def resolve(repo: Path, ref: str) -> str:
    """The full commit id of ``ref``."""
    done = subprocess.run(["git", "rev-parse", "--verify", f"{ref}^{{commit}}"], cwd=repo,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"--stack-ref {ref!r}: {done.stderr.strip()}")
    return done.stdout.strip()


def unpack(repo: Path, commit: str, dest: Path) -> Path:
    """``git archive`` of ``commit`` extracted into ``dest`` (once; reused afterwards)."""
    if (dest / "pyproject.toml").exists():
        return dest
    archive = subprocess.run(["git", "archive", "--format=tar", commit], cwd=repo,
                             capture_output=True, check=True).stdout
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest
