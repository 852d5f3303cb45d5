"""Sentence vectors stored compactly: int8 components with one float32 scale per vector.

Every sentence of every article has a stored vector (``sentence_vectors``), about eight per passage, so at
a million passages float32 vectors are most of the archive's file (1,536 bytes each at 384 dimensions).
Stored as ``scale`` (float32) followed by ``round(v / scale)`` in int8, with ``scale = max|v| / 127``, a
vector takes ``dim + 4`` bytes, a quarter, and each component is off by at most ``scale / 2``: the cosine of
two unit vectors moves by about 1e-3, far below what separates one candidate sentence from the next.
Passage vectors, which build the search index, stay float32.

Rows written before this (plain float32, ``4 * dim`` bytes) are read as they are; a blob of any other size
is not a vector of this model and reads as missing, so the sentence is embedded again.
"""

from __future__ import annotations

import numpy as np

SCALE = np.dtype("<f4")


def encode(vector: np.ndarray) -> bytes:
    """The compact bytes of one vector: its scale, then its int8 components."""
    v = np.asarray(vector, dtype=np.float32).reshape(-1)
    peak = float(np.abs(v).max()) if v.size else 0.0
    if not np.isfinite(peak):
        raise ValueError("a vector with a non-finite component cannot be stored")
    scale = peak / 127 if peak > 0 else 1.0
    codes = np.clip(np.rint(v / scale), -127, 127).astype(np.int8)
    return np.array(scale, dtype=SCALE).tobytes() + codes.tobytes()


def decode(blob: bytes, dim: int) -> np.ndarray | None:
    """The float32 vector of a stored blob, compact or plain; None when the blob is not a ``dim``-vector."""
    if len(blob) == dim + SCALE.itemsize:
        scale = np.frombuffer(blob, dtype=SCALE, count=1)[0]
        return np.frombuffer(blob, dtype=np.int8, offset=SCALE.itemsize).astype(np.float32) * scale
    if len(blob) == 4 * dim:
        return np.frombuffer(blob, dtype=np.float32)
    return None
