"""A bounded cache of sentence vectors for answering, in front of the vectors the re-index stored.

``Engine.ask`` compares the question with up to 40 candidate sentences. Their vectors come from
this cache, then from ``stored`` (the archive's ``sentence_vectors``, filled by every re-index), and
only a sentence found in neither (one indexed before sentences were, or by another embedder) is
embedded then. The cache holds the most recently used ``max_items`` vectors (all of them when
``None``), keyed by a hash of the exact text, and is safe to share between the bot's worker threads.
Questions themselves are not cached. The evaluations' ``MemoEncoder`` is the same cache, unbounded
and saved between runs.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

from index.answering.candidates import QueryEncoder

DEFAULT_MAX_ITEMS = 50_000  # about 77 MB of 384-d float32 vectors at most
StoredVectors = Callable[[Sequence[str]], Sequence[np.ndarray | None]]  # texts -> their stored vectors, if any


def text_key(text: str) -> str:
    """The cache key of a text: the hex SHA-1 of its UTF-8 bytes."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class SentenceVectorCache:
    def __init__(
        self, inner: QueryEncoder, max_items: int | None = DEFAULT_MAX_ITEMS, *, stored: StoredVectors | None = None
    ) -> None:
        self.inner = inner
        self.max_items = max_items
        self.stored = stored
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def encode_query(self, text: str) -> np.ndarray:
        return self.inner.encode_query(text)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return self.inner.encode_passages(texts)
        keys = [text_key(t) for t in texts]
        with self._lock:
            known = {k: self._vectors[k] for k in keys if k in self._vectors}
            for key in known:
                self._vectors.move_to_end(key)
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in known}
        found: dict[str, np.ndarray] = {}
        if missing and self.stored is not None:
            vectors = self.stored(list(missing.values()))
            found = {k: v for k, v in zip(missing, vectors, strict=True) if v is not None}
            missing = {k: t for k, t in missing.items() if k not in found}
        if missing:
            fresh = np.asarray(self.inner.encode_passages(list(missing.values())), dtype=np.float32)
            found.update(zip(missing, fresh, strict=True))
        if found:
            known.update(found)
            with self._lock:
                self._vectors.update(found)
                while self.max_items is not None and len(self._vectors) > self.max_items:
                    self._vectors.popitem(last=False)
        return np.stack([known[k] for k in keys])

    def __len__(self) -> int:
        return len(self._vectors)
