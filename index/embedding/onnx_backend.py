"""The ONNX Runtime embedder: export, graph fusion, int8 quantization and a file cache.

On first use the installed model is exported with ``torch.onnx.export`` (offline), its
graph is rewritten by onnxruntime's transformer optimizer (fused attention, LayerNorm and
GELU kernels) and, for ``onnx-int8``, its matrix multiplications get int8 per-channel
weights with activations quantized on the fly. The result is cached in ``cache_dir`` under a
name keyed by a hash of the model files and the export settings, written atomically; later
loads read it with onnxruntime and the ``tokenizers`` package only (no torch import).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

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
    load_tokenizer,
    model_dir,
    normalise,
)
from index.store.durable import fsync_folder

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Encoding

log = logging.getLogger(__name__)

OPSET = 17
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
# Operators that get int8 weights. All of them measured fastest (about 3.7x fp32 encode at
# 0.994 mean cosine); keeping the feed-forward down projections (``layer.N/output/dense``,
# fed by GELU outputs with a few large channels) in fp32 raised the cosine to 0.997 but cut
# the speed-up to about 2.5x, too close to the target.
QUANTIZED_OPS = ("Attention", "MatMul")
EXPORT_SETTINGS = {
    "opset": OPSET,
    "attention": "eager",
    "optimizer": "bert",
    "quantized_ops": QUANTIZED_OPS,
    "weights": "int8-per-channel",
}
HASHED_MODEL_FILES = ("config.json", "model.safetensors")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


Deltas = Mapping[str, np.ndarray]  # model parameter name -> array added to it before export


def cache_key(folder: Path, kind: str, deltas: Deltas | None = None) -> str:
    """A hash of the model files, any weight deltas, the export settings and the tool versions that built them."""
    digest = hashlib.sha256()
    for name in sorted(deltas or {}):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(deltas[name], dtype=np.float32).tobytes())
    for name in HASHED_MODEL_FILES:
        digest.update(name.encode())
        with open(folder / name, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    settings = dict(EXPORT_SETTINGS, kind=kind, torch=_version("torch"), ort=_version("onnxruntime"))
    digest.update(json.dumps(settings, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def cached_model_path(cache_dir: Path, kind: str, key: str, prefix: str = "minilm") -> Path:
    return cache_dir / f"{prefix}-{kind}-{key}.onnx"


def _export(folder: Path, target: Path, deltas: Deltas | None = None) -> None:
    """Trace the Hugging Face model, ``deltas`` added to its weights, to ONNX (last hidden state, dynamic batch and
    length)."""
    go_offline()
    try:
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise EmbedderUnavailable(
            "Building the ONNX embedder needs torch and transformers, which are not installed."
        ) from exc

    class LastHiddenState(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
        ) -> torch.Tensor:
            output = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return output.last_hidden_state

    model = AutoModel.from_pretrained(str(folder), attn_implementation="eager").eval()
    if deltas:
        parameters = dict(model.named_parameters())
        with torch.no_grad():
            for name, delta in deltas.items():
                parameters[name].add_(torch.from_numpy(np.asarray(delta, dtype=np.float32)))
    ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]], dtype=torch.int64)
    mask = (ids != 0).to(torch.int64)
    dynamic = {name: {0: "batch", 1: "sequence"} for name in INPUT_NAMES}
    dynamic["last_hidden_state"] = {0: "batch", 1: "sequence"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LastHiddenState(model),
            (ids, mask, torch.zeros_like(ids)),
            str(target),
            input_names=list(INPUT_NAMES),
            output_names=["last_hidden_state"],
            dynamic_axes=dynamic,
            opset_version=OPSET,
            dynamo=False,
        )


def _fuse(folder: Path, source: Path, target: Path) -> None:
    """Rewrite the graph with onnxruntime's fused BERT kernels."""
    from onnxruntime.transformers import optimizer

    config = json.loads((folder / "config.json").read_text())
    model = optimizer.optimize_model(
        str(source),
        model_type="bert",
        num_heads=config["num_attention_heads"],
        hidden_size=config["hidden_size"],
        opt_level=0,
    )
    fused = model.get_fused_operator_statistics()
    if fused.get("Attention", 0) != config["num_hidden_layers"]:
        log.warning("ONNX graph fusion left attention unfused: %s", fused)
    model.save_model_to_file(str(target))


def _quantize(source: Path, target: Path) -> None:
    """int8 per-channel weights for the selected operators; activations quantized at run time."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.quant_utils import add_pre_process_metadata

    model = onnx.load(str(source))
    # The fused graph is what the quantizer's pre-processing step would produce; tagging it
    # so keeps the quantizer from warning through (and configuring) the root logger.
    add_pre_process_metadata(model)
    quantize_dynamic(
        model,
        str(target),
        per_channel=True,
        weight_type=QuantType.QInt8,
        op_types_to_quantize=list(QUANTIZED_OPS),
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


def build_model(folder: Path, kind: str, target: Path, deltas: Deltas | None = None) -> None:
    """Export (with ``deltas`` added to its weights), fuse and (for int8) quantize the model into ``target``,
    atomically."""
    started = time.perf_counter()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".onnx-build-") as work:
        exported, fused, quantized = (Path(work) / n for n in ("exported.onnx", "fused.onnx", "int8.onnx"))
        _export(folder, exported, deltas)
        _fuse(folder, exported, fused)
        final = fused
        if kind == "onnx-int8":
            _quantize(fused, quantized)
            final = quantized
        with open(final, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(final, target)
    fsync_folder(target.parent)
    log.info("Built %s in %.1f s", target.name, time.perf_counter() - started)


def ensure_model(cache_dir: Path, kind: str, *, prefix: str = "minilm", deltas: Deltas | None = None) -> Path:
    """The cached ONNX model of ``kind`` (the bundled model, plus ``deltas`` if given, cached under ``prefix``),
    built first if missing; stale builds are removed."""
    folder = model_dir()
    path = cached_model_path(cache_dir, kind, cache_key(folder, kind, deltas), prefix)
    if not path.exists():
        log.info("Exporting %s to ONNX (%s), once", prefix, kind)
        build_model(folder, kind, path, deltas)
        for stale in cache_dir.glob(f"{prefix}-{kind}-*.onnx"):
            if stale != path:
                stale.unlink(missing_ok=True)
    return path


def open_session(path: Path, threads: int | None) -> onnxruntime.InferenceSession:
    """An ONNX Runtime CPU session over ``path`` with ``threads`` intra-op threads (default: all cores)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or 0
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def mean_pooled(session: onnxruntime.InferenceSession, encodings: Sequence[Encoding]) -> np.ndarray:
    """The model's last hidden state for ``encodings`` (one padded batch), averaged over each row's tokens."""
    width = max(len(e.ids) for e in encodings)
    arrays = {name: np.zeros((len(encodings), width), dtype=np.int64) for name in INPUT_NAMES}
    for row, encoding in enumerate(encodings):
        n = len(encoding.ids)
        arrays["input_ids"][row, :n] = encoding.ids
        arrays["attention_mask"][row, :n] = encoding.attention_mask
        arrays["token_type_ids"][row, :n] = encoding.type_ids
    inputs = {i.name for i in session.get_inputs()}
    hidden = session.run(None, {name: arrays[name] for name in INPUT_NAMES if name in inputs})[0]
    mask = arrays["attention_mask"][..., None].astype(np.float32)
    return (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1.0)


class OnnxEmbedder:
    """all-MiniLM-L6-v2 run by ONNX Runtime on CPU, mean-pooled and normalised like the original."""

    dim = DIM
    max_word_pieces = MAX_WORD_PIECES

    def __init__(self, kind: str, cache_dir: Path, *, threads: int | None = None) -> None:
        try:
            import onnxruntime  # noqa: F401 (checked before the export, which needs it too)
        except ImportError as exc:
            raise EmbedderUnavailable(f"Embedder {kind!r} needs onnxruntime, which is not installed.") from exc
        path = ensure_model(cache_dir, kind)
        self._session = open_session(path, threads)
        folder = model_dir()
        self._tokenizer = load_tokenizer(folder, truncate_at=MAX_SEQUENCE)
        self._counter = WordPieceCounter(folder)
        self.name = f"{MODEL_NAME}/{kind}"
        self.model_path = path

    def count_word_pieces(self, text: str) -> int:
        return self._counter(text)

    def _run(self, encodings: Sequence[Encoding]) -> np.ndarray:
        return normalise(mean_pooled(self._session, encodings))

    def encode_passages(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        progress: Progress | None = None,
    ) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(list(texts))
        return encode_by_length(
            [len(e.ids) for e in encodings], lambda rows: self._run([encodings[i] for i in rows]), batch_size, progress
        )

    def encode_query(self, text: str) -> np.ndarray:
        return self._run([self._tokenizer.encode(text)])[0]
