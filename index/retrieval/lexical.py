"""In-memory BM25 over short texts (chunks, titles), built on bm25s with Snowball stemming.

``tokenize`` is the one analyser used for both documents and queries: lower-cased word
tokens, English stop words removed, each word reduced to its Snowball stem. The index
answers with a dense score array over all documents so the caller can fuse it with
other signals and apply filters as masks.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

import bm25s
import numpy as np
import Stemmer

logger = logging.getLogger(__name__)
# bm25s sets its own logger to DEBUG at import, which would print "Building index from tokens" on every start.
logging.getLogger("bm25s").setLevel(logging.WARNING)

# Words are runs of letters/digits; an apostrophe inside a word ("Altman's", "don't") splits it.
_WORD = re.compile(r"[^\W_]+")

# English function words: they carry no topic and only dilute BM25's query-term weights.
STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her
    here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
    now of off on once only or other our ours ourselves out over own same she should so some such than that the
    their theirs them themselves then there these they this those through to too under until up very was we
    were what when where which while who whom why will with would you your yours yourself yourselves s t d ll
    m re ve
    """.split()
)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    stemmer = Stemmer.Stemmer("english")
    stemmer.maxCacheSize = 200_000
    return stemmer


def tokenize(text: str) -> list[str]:
    """Stemmed, stop-word-free, lower-cased word tokens of ``text``, in order."""
    words = [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]
    return _stemmer().stemWords(words)


class LexicalIndex:
    """BM25 (Lucene variant) over a fixed list of documents, addressed by position."""

    def __init__(self, model: bm25s.BM25, size: int) -> None:
        self._model = model
        self._size = size

    @classmethod
    def build(cls, documents: Iterable[str], *, k1: float = 1.2, b: float = 0.75) -> LexicalIndex:
        tokens = [tokenize(doc) for doc in documents]
        return cls.from_tokens(tokens, k1=k1, b=b)

    @classmethod
    def from_tokens(cls, tokens: Sequence[list[str]], *, k1: float = 1.2, b: float = 0.75) -> LexicalIndex:
        """Index pre-tokenized documents (as produced by ``tokenize``)."""
        model = bm25s.BM25(k1=k1, b=b, method="lucene")
        if tokens:
            model.index([list(t) for t in tokens], show_progress=False)
        logger.debug("BM25 index over %d documents", len(tokens))
        return cls(model, len(tokens))

    def __len__(self) -> int:
        return self._size

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for ``query`` (float32, zeros when no query term is known)."""
        return self.scores_for_tokens(tokenize(query))

    def scores_for_tokens(self, query_tokens: Sequence[str]) -> np.ndarray:
        if not self._size:
            return np.zeros(0, dtype=np.float32)
        ids = self._model.get_tokens_ids(list(dict.fromkeys(query_tokens)))
        scores = np.zeros(self._size, dtype=np.float32)
        # bm25s stores each term's precomputed document scores as one column of a sparse matrix;
        # a term lists a document at most once, so a fancy-indexed add is exact (and much faster
        # than bm25s's own np.add.at).
        matrix = self._model.scores
        data, indices, indptr = matrix["data"], matrix["indices"], matrix["indptr"]
        for token in ids:
            start, end = indptr[token], indptr[token + 1]
            scores[indices[start:end]] += data[start:end]
        return scores
