"""One virtual environment per contender under ``bench/.venvs/``, made once and reused while
its requirements (and, when it holds this project, its pyproject.toml) are unchanged."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

MARKER = ".bench-venv.json"


class VenvError(RuntimeError):
    """A virtual environment could not be made; the message holds pip's output."""


def python_of(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def _fingerprint(requirements: Sequence[str], project: Path | None, editable: bool
                 ) -> dict[str, str]:
    spec = {"python": sys.version, "requirements": "\n".join(requirements)}
    if project is not None:
        spec["project"] = str(project)
        spec["editable"] = str(editable)
        spec["pyproject"] = hashlib.sha1((project / "pyproject.toml").read_bytes()).hexdigest()
    return spec


def ensure(venv: Path, requirements: Sequence[str], project: Path | None = None,
           log: Callable[[str], None] = print, editable: bool = True) -> Path:
    """The python of ``venv``, created (or re-created) with ``requirements`` installed, and
    the project at ``project`` (editable unless ``editable`` is False)."""
    wanted = _fingerprint(requirements, project, editable)
    marker = venv / MARKER
    python = python_of(venv)
    if python.exists() and marker.exists():
        try:
            if json.loads(marker.read_text()) == wanted:
                return python
        except ValueError:
            pass
    started = time.monotonic()
    log(f"  making venv {venv.name} ({', '.join(requirements) or 'no extra requirements'}"
        f"{', project ' + str(project) if project else ''}) ...")
    _run([sys.executable, "-m", "venv", "--clear", str(venv)])
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    if requirements:
        _run([*pip, *requirements])
    if project is not None:
        _run([*pip, *(["-e"] if editable else []), str(project)])
    marker.write_text(json.dumps(wanted, indent=1))
    log(f"  venv {venv.name} ready in {time.monotonic() - started:.0f}s")
    return python


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-30:])
        raise VenvError(f"{' '.join(command)} failed ({done.returncode}):\n{tail}")
