"""Fixtures shared by the whole suite: dataset paths and throwaway archive homes.

Most tests build their archives from files in the repository (``data/`` and ``tests/data/``). The few that read the
full datasets (``../shared/datasets``, or ``ARCHIVIST_DATASETS``) are marked ``needs_datasets`` (a test that takes the
``datasets`` fixture is marked by itself): without the datasets they are skipped with the reason, and with ``CI=true``
in the environment they fail instead, so CI still runs everything.
"""

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("ARCHIVIST_DATASETS") or ROOT.parent / "shared" / "datasets")
SEED_PAGE = ROOT / "data" / "seed-article.txt"
# The first 30 MultiHop-RAG training articles shorter than 6,000 characters, exported as they are (ODC-BY 1.0, see
# data/README.md): the small archive many tests ask about (Taylor Swift, FTX's trial, the ASX, a Cherokee Barbie).
SMALL_MULTIHOP = ROOT / "tests" / "data" / "multihop_rag_small.json"


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if "datasets" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.needs_datasets)


def pytest_runtest_setup(item) -> None:
    if item.get_closest_marker("needs_datasets") is None or DATASETS.is_dir():
        return
    reason = f"the shared datasets are missing at {DATASETS} (set ARCHIVIST_DATASETS or lay them beside the checkout)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI must run every test", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def datasets() -> Path:
    """The shared datasets folder (the test is skipped, or fails under CI, when it is missing)."""
    return DATASETS


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    """One exported fast model for the whole run (the first export takes seconds)."""
    return tmp_path_factory.mktemp("model-cache")


def small_multihop_articles() -> list[dict]:
    """The records of ``SMALL_MULTIHOP``, in MultiHop-RAG's corpus format."""
    import json

    return json.loads(SMALL_MULTIHOP.read_text(encoding="utf-8"))


def small_corpus(folder: Path, articles: int = 14) -> Path:
    """A few real MultiHop-RAG articles plus the scraped seed page, as files to ingest."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    picked = small_multihop_articles()[:articles]
    assert len(picked) == articles, f"{SMALL_MULTIHOP} holds only {len(picked)} articles"
    (folder / "articles.json").write_text(json.dumps(picked, ensure_ascii=False), encoding="utf-8")
    (folder / "seed-article.txt").write_bytes(SEED_PAGE.read_bytes())
    return folder


@pytest.fixture(scope="session")
def built_home(tmp_path_factory, model_cache) -> Path:
    """A small real archive, ingested and indexed with the real model; copy it before changing it."""
    from index.engine import Engine
    from index.settings import Settings

    home = tmp_path_factory.mktemp("built-home")
    corpus = small_corpus(tmp_path_factory.mktemp("corpus"))
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


@pytest.fixture(scope="session")
def postgres_server():
    """One PostgreSQL server for the run (skipped where none can start, a failure under CI)."""
    from tests.postgres import PostgresServer, PostgresUnavailable

    try:
        server = PostgresServer().start()
    except PostgresUnavailable as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL cannot start here ({exc}); CI must run every test", pytrace=False)
        pytest.skip(f"PostgreSQL cannot start here: {exc}")
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def archive_at(request, tmp_path) -> str | Path:
    """Where a test's archive lives: a SQLite file, then a new PostgreSQL database (the store's two backends)."""
    if request.param == "sqlite":
        return tmp_path / "archive.db"
    return request.getfixturevalue("postgres_server").new_database()


@pytest.fixture(scope="session")
def postgres_archive(postgres_server, built_home, model_cache, tmp_path_factory) -> str:
    """``built_home``'s archive migrated into PostgreSQL, its search files with it, then re-indexed there once (which
    moves vector search into the database, embedding nothing): a template database that
    ``postgres_server.new_database(template=...)`` copies in a moment (never connect to it)."""
    from index.engine import Engine
    from index.indexing.indexer import Indexer
    from index.settings import Settings
    from index.store.database import DB_FILENAME, Store
    from index.store.migrate import migrate

    source, url = Store(built_home / DB_FILENAME, read_only=True), postgres_server.new_database()
    target = Store(url)
    indexer = Indexer(source, built_home / "index", hnsw_threshold=50_000, sentence_vectors=False)
    files = [path for g in source.generations()[:2] for path in indexer.generation_files(g.generation) if path.exists()]
    migrate(source, target, files=files)
    source.close()
    target.close()
    home = tmp_path_factory.mktemp("postgres-home")
    engine = Engine(Settings(home=home, model_cache=model_cache, database_url=url))
    assert engine.reindex().embedded == 0
    engine.close()
    return url
