"""`archivist gaps` and `archivist feedback` on a real small archive: the editor's to-do list from the log."""

import json
import shutil

import pytest
from click.testing import CliRunner

from bot.cli import cli
from index.engine import Engine
from index.models import Answer, Quote
from index.settings import Settings
from tests.index.present.samples import HOSTILE, controls

# Paraphrase groups; each group's first question is asked twice.
PARAPHRASES = {
    "world cup winner": [
        "Who won the 1998 FIFA World Cup?",
        "Which country won the World Cup in 1998?",
        "Which national team became football world champion in 1998?",
    ],
    "tiktok fine": [
        "How much was TikTok fined for breaking privacy rules?",
        "What fine did TikTok get over children's data?",
        "How large was the TikTok privacy penalty?",
    ],
    "vilnius attendance": [
        "How many people attended the NATO summit in Vilnius?",
        "What was the attendance at the Vilnius NATO summit?",
        "How many attendees were at NATO's meeting in Vilnius?",
    ],
    "cadillac recall": [
        "Why is GM recalling Cadillacs?",
        "What is the reason General Motors recalled Cadillac cars?",
        "Why did GM pull Cadillac vehicles back for repairs?",
    ],
}
MEMBER = 5005


def quote() -> Quote:
    return Quote("Text.", "a1", 0, 5, "Title", None, None, None, None, None, 0.5)


@pytest.fixture
def home(built_home, tmp_path, model_cache, monkeypatch):
    home = tmp_path / "home"
    shutil.copytree(built_home, home)
    monkeypatch.setenv("ARCHIVIST_MODEL_CACHE", str(model_cache))
    engine = Engine(Settings(home=home, model_cache=model_cache))
    for topic, questions in PARAPHRASES.items():
        for question in [questions[0], *questions]:
            if topic == "cadillac recall":  # answered, then voted down
                answer_id = engine.record_answer(
                    Answer(question, abstained=False, quotes=(quote(),)), guild_id=1, asker_id=MEMBER
                )
                engine.record_vote(answer_id, MEMBER, -1)
                engine.record_reason(answer_id, MEMBER, "Wrong quote")
            else:
                engine.record_answer(Answer(question, abstained=True), guild_id=1, asker_id=MEMBER)
    liked = engine.record_answer(
        Answer("What does NATO's article 5 say?", abstained=False, quotes=(quote(),)), guild_id=1, asker_id=MEMBER
    )
    engine.record_vote(liked, MEMBER, 1)
    engine.record_answer(Answer(f"{HOSTILE} question?", abstained=True), guild_id=1, asker_id=MEMBER)
    engine.close()
    return home


def run(home, *args):
    return CliRunner().invoke(cli, ["--home", str(home), *args], catch_exceptions=False)


def test_gaps_groups_paraphrases_together_and_keeps_different_questions_apart(home):
    result = run(home, "gaps", "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)["gaps"]
    groups = {frozenset(g["questions"]): g for g in found}
    for topic, questions in PARAPHRASES.items():
        group = groups.get(frozenset(questions))
        assert group is not None, (topic, [g["questions"] for g in found])
        assert group["count"] == len(questions) + 1 and group["label"] in questions
        assert group["nearest"] and all(set(a) == {"article_id", "title", "url"} for a in group["nearest"])
    cadillac = groups[frozenset(PARAPHRASES["cadillac recall"])]
    assert (cadillac["abstained"], cadillac["down_votes"]) == (0, 4)
    assert [g["count"] for g in found] == sorted((g["count"] for g in found), reverse=True)
    assert "What does NATO's article 5 say?" not in result.output  # liked and answered: not a gap
    assert len(found) == len(PARAPHRASES) + 1  # and the hostile question on its own


def test_gaps_in_a_terminal_show_no_control_characters_and_since_filters(home):
    result = run(home, "gaps")
    assert result.exit_code == 0 and "Harbour" in result.output and controls(result.output) == []
    assert "asked 4 times" in result.output and "nearest: " in result.output
    assert json.loads(run(home, "gaps", "--since", "2999-01-01", "--json").output)["gaps"] == []
    bad = run(home, "gaps", "--since", "last week")
    assert bad.exit_code == 1 and "“since” must be a date like 2023-11-12." in bad.output


def test_feedback_lists_votes_with_reasons_and_no_member_ids(home):
    result = run(home, "feedback", "--json")
    votes = [json.loads(line) for line in result.output.splitlines()]
    assert len(votes) == 5 and sum(v["vote"] == -1 for v in votes) == 4
    assert {v["reason"] for v in votes if v["vote"] == -1} == {"Wrong quote"}
    assert set(votes[0]) == {"answer_id", "guild_id", "vote", "reason", "question", "article_ids", "voted_at"}
    assert str(MEMBER) not in result.output
    text = run(home, "feedback").output
    assert text.startswith("👍 1  👎 4") and "Wrong quote" in text
