"""A deterministic stand-in for the sentence embedder: hashed bag of stemmed words, normalised.

Cosine similarity between two texts is then their word overlap, so tests can reason about
which sentence "means" the most like a question without loading the real model.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from index.retrieval.lexical import tokenize

DIM = 384


class BagOfWordsEmbedder:
    def __init__(self) -> None:
        self.passages_encoded = 0

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(DIM, dtype=np.float32)
        for token in tokenize(text):
            v[zlib.crc32(token.encode()) % DIM] += 1.0
        norm = np.linalg.norm(v)
        return v / norm if norm else v

    def encode_query(self, text: str) -> np.ndarray:
        return self._vector(text)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.passages_encoded += len(texts)
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, DIM), dtype=np.float32)
