"""One analysis of the question, passed down, leaves every answer as it was.

The shipped quote models and abstention constants were fitted on the 18 quote features as the code computed them
before the question was analysed once (``index.question``). ``pinned_answers.json`` holds, for questions over the
small real archive, what that code (commit 79676ba) produced: the retrieval query, the answer's quotes and
offsets, the abstention signals and the feature rows (articles named by headline: their ids depend on where the
archive was built). The features depend only on the embedder, the retriever and
the archive; the answers also on the fitted models, so an honest re-fit re-pins them from its own commit.
"""

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from index.answering.candidates import candidate_features
from index.answering.compose import deliberate
from index.engine import ANSWER_HITS
from index.question import Question

PINNED = json.loads(Path(__file__).with_name("pinned_answers.json").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_answers_signals_and_quote_features_are_those_the_models_were_fitted_on(engine):
    retriever = engine.retriever()
    headline = {a.id: a.title for a in engine.recent(None)}
    for case in PINNED:
        history = tuple(case.get("history", ()))
        answer = engine.ask(case["question"], history=history)
        assert answer.query == case["query"], case["question"]
        assert answer.abstained == case["abstained"], case["question"]
        assert [[headline[q.article_id], q.start, q.end] for q in answer.quotes] == [c[:3] for c in case["quotes"]]
        assert [q.score for q in answer.quotes] == pytest.approx([c[3] for c in case["quotes"]], abs=1e-5)
        assert bool(answer.notes) == case["notes"]

        question = Question.parse(case["question"], history=history, catalog=retriever.catalog, now=datetime.now(UTC))
        hits = retriever.find(question, k=ANSWER_HITS)
        bodies = engine.store.bodies(h.article_id for h in hits)
        candidates = candidate_features(question, hits, bodies, embedder=engine.sentence_encoder)
        spans = [[headline[s.article_id], s.start, s.end, s.rank] for s in candidates.spans]
        assert spans == case["spans"], case["question"]
        np.testing.assert_allclose(candidates.features, np.array(case["features"]), rtol=0, atol=2e-6)
        signals = deliberate(question, hits, bodies, embedder=engine.sentence_encoder, verifier=engine.verifier).signals
        assert signals.as_dict() == pytest.approx(case["signals"], abs=2e-6), case["question"]
