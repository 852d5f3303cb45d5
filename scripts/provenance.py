"""The ``about`` block every fitted artifact carries (``index.answering.trees.ABOUT_KEYS``): what it was fitted on
and how, so a reader of ``quote_model.json``, ``verifier.about.json`` or ``abstention.json`` can reproduce it."""

from __future__ import annotations

import hashlib
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksums(*paths: Path) -> dict[str, str]:
    """SHA-256 of each dataset file read (every JSON file of a folder), keyed by ``folder/name``."""
    files = sorted(f for p in paths for f in ([p] if p.is_file() else Path(p).glob("*.json")))
    return {f"{f.parent.name}/{f.name}": sha256(f) for f in files}


def git_commit() -> str:
    """The checkout's commit, marked ``+dirty`` when tracked files differ from it."""
    run = {"cwd": ROOT, "capture_output": True, "text": True}
    commit = subprocess.run(["git", "rev-parse", "HEAD"], check=True, **run).stdout.strip()
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--"], **run).returncode != 0
    return commit + ("+dirty" if dirty else "")


def about(*, data: tuple[Path, ...], samples: dict, embedder: str, **method) -> dict:
    """The ``about`` block of an artifact fitted now by the running command."""
    script = Path(sys.argv[0]).resolve()
    argv = [str(script.relative_to(ROOT)) if script.is_relative_to(ROOT) else sys.argv[0], *sys.argv[1:]]
    return {
        "data": checksums(*data),
        "samples": samples,
        "embedder": embedder,
        "commit": git_commit(),
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": "python " + shlex.join(argv),
        **method,
    }
