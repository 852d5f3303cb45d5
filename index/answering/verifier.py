"""Whether a sentence answers a question, read together: a small cross-encoder.

all-MiniLM-L6-v2 embeds the question and a sentence apart, so a sentence on the question's topic
looks as close as one that answers it. The verifier reads the two as one pair
(``[CLS] question [SEP] sentence [SEP]``) through the same MiniLM, its weights shifted by low-rank
adapters (LoRA, rank 8, on every attention and feed-forward projection), mean-pools the last
hidden state and turns it into log-odds with one linear layer. The adapters and the layer
(``verifier.npz`` beside this module, about 0.7 MB in fp16) are fitted by
``scripts/fit_verifier.py`` on the ``quotes`` split of SQuAD dev and MultiHop-RAG questions; how is recorded in
the ``about`` block of ``verifier.about.json`` beside it (``about_path``).

At first use the adapters are merged into the bundled model's weights and the result is
exported to ONNX with int8 weights like the embedder (``index.embedding.onnx_backend``), cached under a
key that covers the adapter file; scoring then needs onnxruntime and ``tokenizers`` only.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from index.answering.trees import check_about, model_file_error
from index.embedding.base import EmbedderUnavailable, load_tokenizer, model_dir
from index.embedding.onnx_backend import ensure_model, mean_pooled, open_session

ADAPTER_PATH = Path(__file__).with_name("verifier.npz")
KIND = "onnx-int8"
MAX_PAIR_PIECES = 128  # word pieces of question and sentence together, [CLS] and [SEP]s included
BATCH_SIZE = 16


class SentenceVerifier(Protocol):
    """What quote selection and abstention need of the verifier: log-odds that each sentence answers."""

    def verify(self, question: str, sentences: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Adapter:
    """The fitted verifier: weight deltas for the bundled model and the pooled-state head."""

    deltas: dict[str, np.ndarray]  # model parameter name -> scale * B @ A, added before export
    head_weight: np.ndarray  # (hidden,)
    head_bias: float


def about_path(adapter_path: Path) -> Path:
    """The JSON file beside an adapter file that holds its ``about`` block (``verifier.npz`` -> ``verifier.about.json``)."""
    return adapter_path.with_name(f"{adapter_path.stem}.about.json")


def load_about(adapter_path: Path = ADAPTER_PATH) -> dict:
    """The ``about`` block of an adapter file; ``ModelFileError`` when it is missing or incomplete."""
    path = about_path(Path(adapter_path))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise model_file_error(path, "cannot be read", exc) from exc
    return check_about(data.get("about") if isinstance(data, dict) else None, path)


def load_adapter(path: Path = ADAPTER_PATH) -> Adapter:
    """The adapter file: for each adapted parameter ``NAME``, arrays ``NAME.a`` and ``NAME.b``; ``scale``,
    ``head.weight`` and ``head.bias``; its ``about`` block beside it (``about_path``). ``ModelFileError`` when
    either is unreadable or incomplete."""
    try:
        with np.load(path) as data:
            arrays = {name: data[name].astype(np.float32) for name in data.files}
        scale = float(arrays.pop("scale"))
        head_weight = arrays.pop("head.weight").reshape(-1)
        head_bias = float(arrays.pop("head.bias").reshape(-1)[0])
        names = sorted({name.rsplit(".", 1)[0] for name in arrays})
        deltas = {name: scale * arrays[f"{name}.b"] @ arrays[f"{name}.a"] for name in names}
    except (OSError, ValueError, KeyError, IndexError, EOFError, zipfile.BadZipFile) as exc:
        raise model_file_error(path, "cannot be read as a verifier adapter", exc) from exc
    if not deltas:
        raise model_file_error(path, "adapts no weights")
    load_about(path)
    return Adapter(deltas, head_weight, head_bias)


class Verifier:
    """The fitted cross-encoder run by ONNX Runtime on CPU."""

    def __init__(self, cache_dir: Path, *, threads: int | None = None, adapter_path: Path = ADAPTER_PATH) -> None:
        try:
            import onnxruntime  # noqa: F401
        except ImportError as exc:
            raise EmbedderUnavailable("The answer verifier needs onnxruntime, which is not installed.") from exc
        adapter = load_adapter(adapter_path)
        path = ensure_model(Path(cache_dir), KIND, prefix="verifier", deltas=adapter.deltas)
        self._session = open_session(path, threads)
        self._tokenizer = load_tokenizer(model_dir(), truncate_at=MAX_PAIR_PIECES)
        self._head = (adapter.head_weight, adapter.head_bias)

    def verify(self, question: str, sentences: Sequence[str]) -> np.ndarray:
        if not sentences:
            return np.zeros(0)
        encodings = self._tokenizer.encode_batch([(question, s) for s in sentences])
        weight, bias = self._head
        out = np.zeros(len(sentences))
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        for i in range(0, len(order), BATCH_SIZE):
            rows = order[i : i + BATCH_SIZE]
            out[rows] = mean_pooled(self._session, [encodings[r] for r in rows]) @ weight + bias
        return out
