"""During a full re-index of a BBC slice, /ask is deferred within 1 s and answered; loop lag p99 < 100 ms."""

import pytest

from index.engine import Engine
from index.settings import Settings
from tests.bot.lag import bbc_slice, measure_reindex_lag, percentile
from tests.conftest import DATASETS

PER_CATEGORY = 12  # about 60 articles and 130 passages: a re-index of a few seconds even on an idle machine


@pytest.mark.slow
@pytest.mark.needs_datasets
async def test_answers_keep_flowing_and_loop_lag_stays_low_during_a_full_reindex(
    tmp_path, model_cache, shared_embedder
):
    corpus = bbc_slice(DATASETS / "bbc_news" / "bbc", tmp_path / "bbc", PER_CATEGORY)
    engine = Engine(Settings(home=tmp_path / "home", model_cache=model_cache), embedder=shared_embedder)
    assert engine.ingest([corpus]).added >= 5 * PER_CATEGORY - 2
    engine.reindex()
    try:
        report = await measure_reindex_lag(engine, ask_every=0.2, baseline_seconds=0.5)
    finally:
        engine.close()
    assert report.summary.startswith("✅ Full re-index finished"), report.summary
    assert report.answered_during_reindex >= 3, report.table()  # the answers really overlapped the re-index
    assert len(report.answers) == report.asked
    assert max(report.defers) < 1.0, report.table()
    assert percentile(report.lags, 0.99) < 0.100, report.table()
    assert report.problems == []
