"""A bounded cache of sentence vectors for answering, so follow-ups on the same articles embed nothing new.

``Engine.ask`` embeds up to 40 candidate sentences per question, most of its time; the questions of
one conversation (a Discord thread, `archivist chat`) keep quoting the same few articles. The
cache holds the most recently used ``max_items`` vectors, keyed by the exact text, and is safe to
share between the bot's worker threads. Questions themselves are not cached.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from index.quotes import QueryEncoder

DEFAULT_MAX_ITEMS = 50_000  # about 77 MB of 384-d float32 vectors at most


class SentenceVectorCache:
    def __init__(self, inner: QueryEncoder, max_items: int = DEFAULT_MAX_ITEMS) -> None:
        self.inner = inner
        self.max_items = max_items
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def encode_query(self, text: str) -> np.ndarray:
        return self.inner.encode_query(text)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return self.inner.encode_passages(texts)
        with self._lock:
            known = {t: self._vectors[t] for t in texts if t in self._vectors}
            for text in known:
                self._vectors.move_to_end(text)
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            fresh = np.asarray(self.inner.encode_passages(missing), dtype=np.float32)
            known.update(zip(missing, fresh, strict=True))
            with self._lock:
                self._vectors.update(zip(missing, fresh, strict=True))
                while len(self._vectors) > self.max_items:
                    self._vectors.popitem(last=False)
        return np.stack([known[t] for t in texts])

    def __len__(self) -> int:
        return len(self._vectors)
