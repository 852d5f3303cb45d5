"""Fixtures shared by the whole suite: dataset paths and throwaway archive homes."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"


@pytest.fixture
def datasets() -> Path:
    if not DATASETS.is_dir():
        pytest.fail(f"the shared datasets are missing at {DATASETS} (CI lays them beside the checkout)")
    return DATASETS


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    """One exported fast model for the whole run (the first export takes seconds)."""
    return tmp_path_factory.mktemp("model-cache")


def small_corpus(datasets: Path, folder: Path, articles: int = 14) -> Path:
    """A few real MultiHop-RAG articles plus the scraped seed page, as files to ingest."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    corpus = json.loads((datasets / "multihop_rag" / "corpus_train.json").read_text(encoding="utf-8"))
    picked = [doc for doc in corpus if len(doc["body"]) < 6000][:articles]
    (folder / "articles.json").write_text(json.dumps(picked, ensure_ascii=False), encoding="utf-8")
    (folder / "seed-article.txt").write_bytes((datasets / "seed-article.txt").read_bytes())
    return folder


@pytest.fixture(scope="session")
def built_home(tmp_path_factory, model_cache) -> Path:
    """A small real archive, ingested and indexed with the real model; copy it before changing it."""
    from index.engine import Engine
    from index.settings import Settings

    if not DATASETS.is_dir():
        pytest.fail(f"the shared datasets are missing at {DATASETS}")
    home = tmp_path_factory.mktemp("built-home")
    corpus = small_corpus(DATASETS, tmp_path_factory.mktemp("corpus"))
    engine = Engine(Settings(home=home, model_cache=model_cache))
    engine.ingest([corpus])
    engine.reindex()
    engine.close()
    return home


@pytest.fixture
def engine(built_home, tmp_path, model_cache):
    """An engine over a private copy of the small real archive."""
    import shutil

    from index.engine import Engine
    from index.settings import Settings

    home = tmp_path / "home"
    shutil.copytree(built_home, home)
    engine = Engine(Settings(home=home, model_cache=model_cache))
    yield engine
    engine.close()
