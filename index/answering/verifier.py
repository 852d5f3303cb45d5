"""Whether a sentence answers a question, read together: a small cross-encoder.

all-MiniLM-L6-v2 embeds the question and a sentence apart, so a sentence on the question's topic
looks as close as one that answers it. The verifier reads the two as one pair
(``[CLS] question [SEP] sentence [SEP]``) through the same MiniLM, its weights shifted by low-rank
adapters (LoRA, rank 8, on every attention and feed-forward projection), mean-pools the last
hidden state and turns it into log-odds with one linear layer. The adapters and the layer
(``verifier.npz`` beside this module, about 0.7 MB in fp16) are fitted by
``scripts/fit_verifier.py`` on the ``quotes`` split of SQuAD dev and MultiHop-RAG questions.

At first use the adapters are merged into the bundled model's weights and the result is
exported to ONNX with int8 weights like the embedder (``index.embedding.onnx_backend``), cached under a
key that covers the adapter file; scoring then needs onnxruntime and ``tokenizers`` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from index.answering.trees import ModelFileError
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


def load_adapter(path: Path = ADAPTER_PATH) -> Adapter:
    """The adapter file: for each adapted parameter ``NAME``, arrays ``NAME.a`` and ``NAME.b``; ``scale``,
    ``head.weight`` and ``head.bias``. ``ModelFileError`` when it is unreadable or incomplete."""
    try:
        with np.load(path) as data:
            arrays = {name: data[name].astype(np.float32) for name in data.files}
        scale = float(arrays.pop("scale"))
        head_weight = arrays.pop("head.weight").reshape(-1)
        head_bias = float(arrays.pop("head.bias").reshape(-1)[0])
        names = sorted({name.rsplit(".", 1)[0] for name in arrays})
        deltas = {name: scale * arrays[f"{name}.b"] @ arrays[f"{name}.a"] for name in names}
    except (OSError, ValueError, KeyError, IndexError) as exc:
        raise ModelFileError(f"cannot read the verifier adapter {path}: {exc}") from exc
    if not deltas:
        raise ModelFileError(f"the verifier adapter {path} adapts no weights")
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
