"""Transfer: answers on an archive and questions that nothing was fitted or tuned on.

The archive is the BBC News corpus (2004-05, five sections; ``../shared/datasets/bbc_news``), which no model,
threshold or weight of Archivist has seen. The questions (``bbc_questions.jsonl`` beside this module) were written
by hand the way community members type them: answerable ones with short gold strings that appear verbatim in the
named articles, and near misses the archive does not answer, of four kinds:

- ``unstated_fact``: an article covers the event but not the fact asked;
- ``after_archive``: the event happened after the archive ends, on a topic it covers;
- ``swapped_entity``: a fact the archive states, asked of another entity it says nothing about on that point;
- ``false_premise``: the question presupposes something the archive contradicts or never says.

``bbc_paraphrases.jsonl`` words 50 of them three ways each, to measure whether the decision (answer or abstain)
survives rewording. The archive is built through the real engine (ingest the five section folders, index), and
every question goes through ``Engine.ask`` exactly as a user's would. Never fit or choose anything on these
figures: they are for measuring only.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from index.engine import Engine
from index.models import Answer

HERE = Path(__file__).parent
QUESTIONS = HERE / "bbc_questions.jsonl"
PARAPHRASES = HERE / "bbc_paraphrases.jsonl"
SECTIONS = ("business", "entertainment", "politics", "sport", "tech")
NEAR_MISS_KINDS = ("unstated_fact", "after_archive", "swapped_entity", "false_premise")


@dataclass(frozen=True)
class TransferQuestion:
    id: str
    question: str
    answerable: bool
    kind: str
    answer_type: str
    articles: tuple[str, ...]  # "section/NNN.txt"
    answers: tuple[str, ...]


@dataclass(frozen=True)
class Paraphrases:
    id: str
    source_id: str
    answerable: bool
    wordings: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    """What the engine did with one question."""

    question: TransferQuestion
    abstained: bool
    gold_in_right_article: bool  # a gold string inside a shown quote from one of the question's articles
    gold_anywhere: bool  # a gold string inside any shown quote
    quotes: int
    fidelity_errors: int


@dataclass(frozen=True)
class TransferMetrics:
    answerable: int
    gold_in_quotes: float
    gold_in_quotes_any_article: float
    answerable_abstained: float
    unanswerable: int
    unanswerable_abstained: float
    abstained_by_kind: dict[str, float]
    missed_by_answer_type: dict[str, str]
    fidelity_errors: int
    quotes: int
    paraphrase_groups: int = 0
    paraphrase_agreement: float | None = None
    disagreeing_groups: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def load_questions(path: Path = QUESTIONS) -> list[TransferQuestion]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [
        TransferQuestion(
            r["id"],
            r["question"],
            r["answerable"],
            r["kind"],
            r["answer_type"],
            tuple(r["articles"]),
            tuple(r["answers"]),
        )
        for r in rows
    ]


def load_paraphrases(path: Path = PARAPHRASES) -> list[Paraphrases]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Paraphrases(r["id"], r["source_id"], r["answerable"], tuple(r["wordings"])) for r in rows]


def build_archive(engine: Engine, bbc: Path) -> None:
    """Ingest the five section folders and index them (a no-op when the archive is already built)."""
    engine.ingest([bbc / section for section in SECTIONS])
    engine.reindex()


def file_of(origin: str) -> str:
    """'…/bbc/sport/199.txt' → 'sport/199.txt'."""
    parts = Path(origin.split("#", 1)[0]).parts
    return "/".join(parts[-2:])


def judge(engine: Engine, question: TransferQuestion, answer: Answer) -> Outcome:
    right = set(question.articles)
    in_right = anywhere = False
    errors = 0
    for quote in answer.quotes:
        article = engine.article(quote.article_id)
        if article.body[quote.start : quote.end] != quote.text or quote.title != article.title:
            errors += 1
        holds = any(gold in quote.text for gold in question.answers)
        anywhere |= holds
        in_right |= holds and file_of(article.origin) in right
    return Outcome(question, answer.abstained, in_right, anywhere, len(answer.quotes), errors)


def ask_all(engine: Engine, questions: Iterable[TransferQuestion]) -> list[Outcome]:
    return [judge(engine, q, engine.ask(q.question)) for q in questions]


def _share(count: int, total: int) -> float:
    return round(count / total, 4) if total else 0.0


def metrics(outcomes: Sequence[Outcome], paraphrase_decisions: dict[str, list[bool]] | None = None) -> TransferMetrics:
    answerable = [o for o in outcomes if o.question.answerable]
    unanswerable = [o for o in outcomes if not o.question.answerable]
    by_kind: dict[str, list[Outcome]] = defaultdict(list)
    for o in unanswerable:
        by_kind[o.question.kind].append(o)
    missed = Counter(o.question.answer_type for o in answerable if not o.gold_in_right_article)
    asked = Counter(o.question.answer_type for o in answerable)
    agreement, disagreeing = None, ()
    if paraphrase_decisions:
        disagreeing = tuple(sorted(g for g, d in paraphrase_decisions.items() if len(set(d)) > 1))
        agreement = _share(len(paraphrase_decisions) - len(disagreeing), len(paraphrase_decisions))
    return TransferMetrics(
        answerable=len(answerable),
        gold_in_quotes=_share(sum(o.gold_in_right_article for o in answerable), len(answerable)),
        gold_in_quotes_any_article=_share(sum(o.gold_anywhere for o in answerable), len(answerable)),
        answerable_abstained=_share(sum(o.abstained for o in answerable), len(answerable)),
        unanswerable=len(unanswerable),
        unanswerable_abstained=_share(sum(o.abstained for o in unanswerable), len(unanswerable)),
        abstained_by_kind={k: _share(sum(o.abstained for o in by_kind[k]), len(by_kind[k])) for k in NEAR_MISS_KINDS},
        missed_by_answer_type={t: f"{missed[t]}/{asked[t]}" for t in sorted(asked)},
        fidelity_errors=sum(o.fidelity_errors for o in outcomes),
        quotes=sum(o.quotes for o in outcomes),
        paraphrase_groups=len(paraphrase_decisions or {}),
        paraphrase_agreement=agreement,
        disagreeing_groups=disagreeing,
    )


def paraphrase_decisions(engine: Engine, groups: Iterable[Paraphrases]) -> dict[str, list[bool]]:
    """Each group's decisions (True = abstained), one per wording."""
    return {g.id: [engine.ask(w).abstained for w in g.wordings] for g in groups}


def run_transfer(engine: Engine, bbc: Path, *, paraphrases: bool = True) -> tuple[TransferMetrics, list[Outcome]]:
    build_archive(engine, bbc)
    outcomes = ask_all(engine, load_questions())
    decisions = paraphrase_decisions(engine, load_paraphrases()) if paraphrases else None
    return metrics(outcomes, decisions), outcomes
