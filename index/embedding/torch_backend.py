"""The reference backends: sentence-transformers on CPU, in fp32 (``torch-fp32``) or with bfloat16 weights
(``torch-bf16``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from index.embedding.base import (
    DEFAULT_BATCH_SIZE,
    DIM,
    MAX_SEQUENCE,
    MAX_WORD_PIECES,
    MODEL_NAME,
    EmbedderUnavailable,
    Progress,
    WordPieceCounter,
    encode_by_length,
    go_offline,
    model_dir,
    normalise,
)


class TorchEmbedder:
    """sentence-transformers on CPU, in fp32 or with bfloat16 weights."""

    dim = DIM
    max_word_pieces = MAX_WORD_PIECES

    def __init__(self, kind: str) -> None:
        go_offline()
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderUnavailable(
                f"Embedder {kind!r} needs torch and sentence-transformers, which are not installed."
            ) from exc
        folder = model_dir()
        model = SentenceTransformer(str(folder), device="cpu")
        if kind == "torch-bf16":
            model = model.to(torch.bfloat16)
        model.max_seq_length = MAX_SEQUENCE
        self.name = f"{MODEL_NAME}/{kind}"
        self._model = model
        self._counter = WordPieceCounter(folder)

    def count_word_pieces(self, text: str) -> int:
        return self._counter(text)

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(texts, batch_size=len(texts), convert_to_numpy=False, convert_to_tensor=True)
        return normalise(vectors.float().numpy())

    def encode_passages(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        progress: Progress | None = None,
    ) -> np.ndarray:
        return encode_by_length(
            [len(t) for t in texts], lambda rows: self._encode([texts[i] for i in rows]), batch_size, progress
        )

    def encode_query(self, text: str) -> np.ndarray:
        return self._encode([text])[0]
