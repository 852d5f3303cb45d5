"""Durable file replacement helpers shared by the files the engine writes."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def fsync_folder(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (the folder entry itself is flushed)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_arrays(path: Path, head: bytes, arrays: Sequence[np.ndarray], *, align: int = 64) -> None:
    """Replace ``path`` durably with ``head`` then each array's bytes, each at a multiple of ``align`` bytes (zeros
    between) so that a reader can map them in place.

    They go to a temp file of its own name beside ``path`` (two processes may save the same file at once, and the last
    rename wins), flushed, fsynced and renamed over it. A failure leaves ``path`` as it was and no temp file; a kill
    leaves at most a ``.NAME.*.tmp`` file beside it."""
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False)
    temp = Path(handle.name)
    try:
        with handle:
            handle.write(head)
            for part in arrays:
                handle.write(b"\0" * (-handle.tell() % align))
                handle.write(part.view(np.uint8))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)
