"""A gradient-boosted tree ensemble evaluated with NumPy, loaded from a JSON file.

The quote ranker (``index.answering.ranker``) is such an ensemble. It is fitted offline by
``scripts/fit_quote_model.py`` (scikit-learn) and exported to plain arrays, so answering
needs neither scikit-learn nor pickles: each tree is a list of nodes (feature, threshold,
left child, right child, value), a sample goes left when its feature is ``<=`` the
threshold, and the margin is the baseline plus the value of the leaf it reaches in
every tree.

Every fitted file that answering reads (``quote_model.json``, ``verifier.npz`` with ``verifier.about.json``,
``abstention.json``) carries an ``about`` block saying how it was made: ``ABOUT_KEYS`` (``make models`` writes
them all). A file that is unreadable, incomplete or fitted on other features is a ``ModelFileError``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.errors import ArchivistError

# What an artifact's ``about`` block records: the datasets read (file -> SHA-256), how many questions, rows or pairs
# of each were used, the embedder, the git commit and date of the fit, and the command that made it.
ABOUT_KEYS = ("data", "samples", "embedder", "commit", "date", "command")


class ModelFileError(ArchivistError, ValueError):
    """A fitted model file that is unreadable, incomplete or fitted on other features."""


def model_file_error(path: Path | str, problem: str, cause: BaseException | None = None) -> ModelFileError:
    """A ``ModelFileError`` whose message is one sentence naming ``path``, the problem and the first sentence of
    the library's complaint (``cause``) if any."""
    if cause is not None:
        complaint = re.split(r"(?<=[.!?])\s", " ".join(str(cause).split()))[0].rstrip(".!?")
        problem = f"{problem} ({complaint or type(cause).__name__})"
    return ModelFileError(f"The model file {path} {problem}; reinstall Archivist or re-run `make models`.")


def check_about(about: object, path: Path | str) -> dict:
    """``about`` as a dict holding every one of ``ABOUT_KEYS``; a ``ModelFileError`` otherwise."""
    if not isinstance(about, Mapping):
        raise model_file_error(path, "has no about block saying how it was fitted")
    missing = [key for key in ABOUT_KEYS if key not in about]
    if missing:
        raise model_file_error(path, f"has an about block without {', '.join(missing)}")
    return dict(about)


@dataclass(frozen=True)
class TreeEnsemble:
    """Trees stored as padded arrays of shape (trees, nodes); a leaf's children point to itself."""

    features: tuple[str, ...]
    baseline: float
    feature: np.ndarray  # int, -1 at leaves
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    depth: int

    @classmethod
    def from_dict(cls, data: dict) -> TreeEnsemble:
        try:
            features = tuple(data["features"])
            trees = data["trees"]
            baseline = float(data["baseline"])
        except (KeyError, TypeError) as exc:
            raise ModelFileError(f"tree model lacks {exc}") from exc
        if not trees:
            raise ModelFileError("tree model has no trees")
        width = max(len(t["feature"]) for t in trees)
        shape = (len(trees), width)
        feature = np.full(shape, -1, dtype=np.int64)
        threshold = np.zeros(shape)
        value = np.zeros(shape)
        left = np.tile(np.arange(width), (len(trees), 1))
        right = left.copy()
        for t, tree in enumerate(trees):
            n = len(tree["feature"])
            feature[t, :n] = tree["feature"]
            threshold[t, :n] = tree["threshold"]
            value[t, :n] = tree["value"]
            leaf = feature[t, :n] < 0
            left[t, :n] = np.where(leaf, np.arange(n), tree["left"])
            right[t, :n] = np.where(leaf, np.arange(n), tree["right"])
        if feature.max() >= len(features) or left.max() >= width or right.max() >= width:
            raise ModelFileError("tree model refers to a feature or node that does not exist")
        return cls(features, baseline, feature, threshold, left, right, value, int(data.get("depth", width)))

    def margin(self, x: np.ndarray) -> np.ndarray:
        """The ensemble's raw score (log-odds) for each row of ``x`` (columns in ``features`` order)."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        if x.shape[1] != len(self.features):
            raise ValueError(f"expected {len(self.features)} features, got {x.shape[1]}")
        trees = np.arange(self.feature.shape[0])[:, None]
        rows = np.arange(x.shape[0])[None, :]
        node = np.zeros((self.feature.shape[0], x.shape[0]), dtype=np.int64)
        for _ in range(self.depth):
            f = self.feature[trees, node]
            go_left = x[rows, np.maximum(f, 0)] <= self.threshold[trees, node]
            node = np.where(go_left, self.left[trees, node], self.right[trees, node])
        return self.baseline + self.value[trees, node].sum(axis=0)


def tree_dict(
    features: Sequence[str], baseline: float, trees: Sequence[dict], *, depth: int, about: dict | None = None
) -> dict:
    """The JSON form ``TreeEnsemble.from_dict`` reads (used by the fitting script)."""
    return {
        "features": list(features),
        "baseline": baseline,
        "depth": depth,
        "about": about or {},
        "trees": list(trees),
    }
