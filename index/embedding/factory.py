"""Picking an embedding backend by name.

Kinds:

- ``torch-fp32``: plain sentence-transformers, the reference.
- ``torch-bf16``: the same model with bfloat16 weights.
- ``onnx-fp32``: the model exported to ONNX with fused attention/LayerNorm/GELU kernels;
  same vectors as ``torch-fp32`` to float precision.
- ``onnx-int8``: ``onnx-fp32`` with int8 per-channel weights and dynamically quantized
  activations; the fastest kind (see ``scripts/bench_embedding.py``). The default.

The model is loaded when ``load_embedder`` is called, never at import time; each backend imports its
libraries only when chosen.
"""

from __future__ import annotations

from pathlib import Path

from index.embedding.base import KINDS, Embedder, EmbedderUnavailable


def load_embedder(kind: str, cache_dir: Path, *, threads: int | None = None) -> Embedder:
    """Load the model as ``kind`` (one of ``KINDS``).

    ``cache_dir`` holds the exported ONNX models of the ``onnx-*`` kinds: built on first use
    (5–10 s on two cores) and reused afterwards. ``threads`` caps ONNX Runtime's intra-op
    threads (default: all cores).
    """
    if kind in ("torch-fp32", "torch-bf16"):
        from index.embedding.torch_backend import TorchEmbedder

        return TorchEmbedder(kind)
    if kind in ("onnx-fp32", "onnx-int8"):
        from index.embedding.onnx_backend import OnnxEmbedder

        return OnnxEmbedder(kind, Path(cache_dir), threads=threads)
    raise EmbedderUnavailable(f"Unknown embedder kind {kind!r}; choose one of: {', '.join(KINDS)}.")
