"""Every fitted file shipped with the engine loads, says how it was made, and matches the code that reads it;
a damaged copy is refused with one named sentence, never a traceback from NumPy or json."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest

from index.answering import abstention, candidates, ranker, verifier
from index.answering.trees import ABOUT_KEYS, ModelFileError
from index.embedding.base import model_dir
from index.errors import ArchivistError
from tests.conftest import ROOT

ANSWERING = ROOT / "index" / "answering"
SHIPPED = ("quote_model.json", "verifier.npz", "verifier.about.json", "abstention.json")


def assert_one_sentence(error: ArchivistError) -> None:
    message = str(error)
    assert "\n" not in message and len(message) < 400, message
    assert message[0].isupper() and message.endswith("."), message
    assert len(re.findall(r"[.!?](?:\s|$)", message)) == 1, message


def test_every_fitted_file_is_known_and_installed_with_the_package():
    on_disk = {p.name for p in ANSWERING.iterdir() if p.suffix in (".json", ".npz")}
    assert on_disk == set(SHIPPED)
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert set(package_data["package-data"]["index.answering"]) == set(SHIPPED)


def assert_about(about: dict) -> None:
    assert set(ABOUT_KEYS) <= set(about)
    assert about["data"] and all(re.fullmatch(r"[0-9a-f]{64}", digest) for digest in about["data"].values())
    assert re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", about["commit"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", about["date"])
    assert about["command"].startswith("python scripts/")
    assert about["samples"] and all(isinstance(n, int) and n > 0 for n in about["samples"].values())


def test_the_quote_models_read_the_features_the_code_computes():
    models = ranker.load_quote_models(ranker.MODEL_PATH)
    assert models.ranker.features == models.answerability.features == candidates.FEATURES
    assert_about(json.loads(ranker.MODEL_PATH.read_text(encoding="utf-8"))["about"])


def test_the_verifier_adapter_fits_the_bundled_model():
    adapter = verifier.load_adapter(verifier.ADAPTER_PATH)
    hidden = json.loads((model_dir() / "config.json").read_text(encoding="utf-8"))["hidden_size"]
    assert adapter.head_weight.shape == (hidden,)
    assert all(name.startswith("encoder.layer.") and name.endswith(".weight") for name in adapter.deltas)
    assert all(hidden in delta.shape for delta in adapter.deltas.values())
    assert_about(verifier.load_about(verifier.ADAPTER_PATH))


def test_the_abstention_model_reads_the_signals_the_code_computes():
    model = abstention.load_abstention_model(abstention.MODEL_PATH)
    assert tuple(model.coefficients) == abstention.FEATURES
    assert 0.0 < model.threshold < 1.0
    assert_about(model.about)
    assert abstention.abstention_model() == model


def _json_file(name: str):
    def damage(folder: Path, change) -> Path:
        path = folder / name
        data = json.loads((ANSWERING / name).read_text(encoding="utf-8"))
        change(data)
        path.write_text(json.dumps(data), encoding="utf-8")
        return path

    return damage


def _truncate(name: str, keep: float = 0.5):
    def damage(folder: Path) -> Path:
        data = (ANSWERING / name).read_bytes()
        (folder / name).write_bytes(data[: int(len(data) * keep)])
        return folder / name

    return damage


quote_file = _json_file("quote_model.json")
abstention_file = _json_file("abstention.json")
QUOTE_DAMAGE = {
    "truncated": _truncate("quote_model.json"),
    "not JSON": lambda folder: _write(folder / "quote_model.json", "{'ranker': "),
    "a list": lambda folder: _write(folder / "quote_model.json", "[]"),
    "no about": lambda folder: quote_file(folder, lambda d: d.pop("about")),
    "about without a commit": lambda folder: quote_file(folder, lambda d: d["about"].pop("commit")),
    "other features": lambda folder: quote_file(folder, lambda d: d["ranker"]["features"].reverse()),
    "a feature too few": lambda folder: quote_file(folder, lambda d: d["answerability"]["features"].pop()),
    "no trees": lambda folder: quote_file(folder, lambda d: d["ranker"].update(trees=[])),
    "a tree without thresholds": lambda folder: quote_file(folder, lambda d: d["ranker"]["trees"][3].pop("threshold")),
    "no ranker": lambda folder: quote_file(folder, lambda d: d.pop("ranker")),
}
ABSTENTION_DAMAGE = {
    "truncated": _truncate("abstention.json"),
    "empty": lambda folder: _write(folder / "abstention.json", ""),
    "no about": lambda folder: abstention_file(folder, lambda d: d.pop("about")),
    "a signal missing": lambda folder: abstention_file(folder, lambda d: d["coefficients"].pop("verified")),
    "an unknown signal": lambda folder: abstention_file(folder, lambda d: d["coefficients"].update(mood=1.0)),
    "a coefficient as text": lambda folder: abstention_file(folder, lambda d: d["coefficients"].update(names="0.3")),
    "an infinite intercept": lambda folder: _write(
        folder / "abstention.json",
        (ANSWERING / "abstention.json").read_text().replace('"intercept": ', '"intercept": -Infinity, "x": '),
    ),
    "no threshold": lambda folder: abstention_file(folder, lambda d: d.pop("threshold")),
    "a threshold above 1": lambda folder: abstention_file(folder, lambda d: d.update(threshold=1.5)),
}


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("damage", QUOTE_DAMAGE.values(), ids=QUOTE_DAMAGE.keys())
def test_a_damaged_quote_model_file_is_one_named_sentence(tmp_path, damage):
    path = damage(tmp_path)
    with pytest.raises(ModelFileError) as caught:
        ranker.load_quote_models(path)
    assert isinstance(caught.value, ArchivistError) and str(path) in str(caught.value)
    assert_one_sentence(caught.value)


@pytest.mark.parametrize("damage", ABSTENTION_DAMAGE.values(), ids=ABSTENTION_DAMAGE.keys())
def test_a_damaged_abstention_file_is_one_named_sentence(tmp_path, damage):
    path = damage(tmp_path)
    with pytest.raises(ModelFileError) as caught:
        abstention.load_abstention_model(path)
    assert str(path) in str(caught.value)
    assert_one_sentence(caught.value)


def _verifier_copy(folder: Path) -> Path:
    for name in ("verifier.npz", "verifier.about.json"):
        shutil.copy(ANSWERING / name, folder / name)
    return folder / "verifier.npz"


def _verifier_damage(change):
    """A copy of the shipped adapter and its about file in a folder, ``change``d; the adapter's path."""

    def damage(folder: Path) -> Path:
        path = _verifier_copy(folder)
        change(path, folder / "verifier.about.json")
        return path

    return damage


def _drop_head(path: Path, about: Path) -> None:
    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files if not name.startswith("head.")}
    np.savez(path, **arrays)


VERIFIER_DAMAGE = {
    "truncated": _verifier_damage(lambda path, about: path.write_bytes(path.read_bytes()[:200_000])),
    "not a zip": _verifier_damage(lambda path, about: path.write_bytes(b"PK but not really")),
    "no head": _verifier_damage(_drop_head),
    "no about file": _verifier_damage(lambda path, about: about.unlink()),
    "about not JSON": _verifier_damage(lambda path, about: about.write_text("{about", encoding="utf-8")),
    "about without samples": _verifier_damage(
        lambda path, about: about.write_text(json.dumps({"about": {k: 1 for k in ABOUT_KEYS[:1]}}), encoding="utf-8")
    ),
}


@pytest.mark.parametrize("damage", VERIFIER_DAMAGE.values(), ids=VERIFIER_DAMAGE.keys())
def test_a_damaged_verifier_file_is_one_named_sentence(tmp_path, damage):
    path = damage(tmp_path)
    with pytest.raises(ModelFileError) as caught:
        verifier.load_adapter(path)
    assert str(tmp_path) in str(caught.value)
    assert_one_sentence(caught.value)
