"""Starting workers: each contender's venv (made or reused), the folder they start in, the
CPUs they may use, and one phase per process with its JSON reply read back."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import snapshot, venvs
from .contenders import Contender
from .workers.base import RESULT_MARK
from .workloads import KEYS, PHASE_OF

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Launcher:
    pythons: dict[str, Path]
    cwd: Path
    timeout: float
    log: Callable[[str], None]
    sources: dict[str, str] = field(default_factory=dict)  # contender -> what was installed
    cpus: set[int] | None = None  # CPUs the workers run on (None: any)

    def _pin(self) -> None:
        if self.cpus:
            os.sched_setaffinity(0, self.cpus)

    def phase(self, c: Contender, task: dict[str, Any]) -> dict[str, Any]:
        """Run one phase of one contender; a crash becomes an error for its workloads."""
        try:
            done = subprocess.run(
                [str(self.pythons[c.key]), "-m", c.worker], input=json.dumps(task),
                capture_output=True, text=True, cwd=self.cwd, timeout=self.timeout,
                preexec_fn=self._pin if self.cpus else None,
            )
            out, err, code = done.stdout, done.stderr, done.returncode
        except subprocess.TimeoutExpired as exc:
            out, err, code = str(exc.stdout or ""), f"timed out after {self.timeout:.0f}s", -1
        for line in out.splitlines():
            if line.startswith(RESULT_MARK):
                reply: dict[str, Any] = json.loads(line[len(RESULT_MARK):])
                if err.strip() and any(r.get("status") == "error"
                                       for r in reply["results"].values()):
                    self.log(_tail(err))
                return reply
        message = f"worker failed (exit {code}): {_tail(err, 6)}"
        self.log(f"  !! {c.label} {task['phase']}: {message}")
        return {"results": {k: {"status": "error", "message": message}
                            for k in KEYS if PHASE_OF[k] == task["phase"]}}


def prepare(contenders: list[Contender], venv_dir: Path, stack_ref: str | None,
            timeout: float, log: Callable[[str], None]) -> Launcher:
    """Make (or reuse) every contender's venv. Ours is the working tree, installed editable,
    or with ``stack_ref`` a committed revision unpacked and installed as a package."""
    log(f"virtual environments in {venv_dir}")
    pythons: dict[str, Path] = {}
    sources: dict[str, str] = {}
    commit = snapshot.resolve(REPO, stack_ref) if stack_ref else None
    for c in contenders:
        if not c.editable:
            pythons[c.key] = venvs.ensure(venv_dir / c.venv_name, c.requirements, log=log)
        elif commit is None:
            sources[c.key] = f"working tree of {REPO} (editable)"
            pythons[c.key] = venvs.ensure(venv_dir / c.venv_name, c.requirements, REPO,
                                          log=log)
        else:
            sources[c.key] = f"commit {commit[:12]} ({stack_ref})"
            _prune(venv_dir, keep=commit[:12])
            source = snapshot.unpack(REPO, commit, venv_dir / f"src-{commit[:12]}")
            pythons[c.key] = venvs.ensure(venv_dir / f"{c.venv_name}-{commit[:12]}",
                                          c.requirements, source, log=log, editable=False)
    return Launcher(pythons=pythons, cwd=_worker_dir(venv_dir), timeout=timeout, log=log,
                    sources=sources)


def _prune(venv_dir: Path, keep: str) -> None:
    """Remove the snapshots (and their venvs) of other commits: only the latest is kept."""
    for old in venv_dir.glob("*-*"):
        if old.is_dir() and old.name.startswith(("src-", "stack-")) and \
                not old.name.endswith(keep) and len(old.name.rsplit("-", 1)[1]) == 12:
            shutil.rmtree(old)


def _worker_dir(venv_dir: Path) -> Path:
    """Where workers start: only ``bench`` is importable from there (a link to ours), so the
    repository's own ``assimilator_stack`` never shadows what a venv installed."""
    folder = venv_dir / "_workers"
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / "bench"
    if not link.is_symlink():
        link.symlink_to(REPO / "bench", target_is_directory=True)
    return folder


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
