"""Near-miss questions: the archive covers the topic, not the fact asked."""

import random

from index.models import Hit
from scripts.evaluation.near_miss import later, names_in, swapped, without_sentences

BODY = "The summit opened in Vilnius. Leaders agreed to spend 2% of GDP on defence. The talks ended on Wednesday."


def _hit(start: int, end: int) -> Hit:
    return Hit(1, "a1", "Summit", None, None, None, None, None, BODY[start:end], start, end, 1.0)


def test_deleting_blanks_every_sentence_with_the_gold_and_keeps_offsets():
    hits, bodies = without_sentences(lambda s: "2%" in s)([_hit(0, len(BODY))], {"a1": BODY})
    masked = bodies["a1"]
    assert len(masked) == len(BODY) and "2%" not in masked
    assert masked.startswith("The summit opened in Vilnius.") and masked.endswith("The talks ended on Wednesday.")
    assert hits[0].text == masked[hits[0].start : hits[0].end]


def test_a_passage_left_empty_is_dropped():
    only_gold = BODY.index("Leaders"), BODY.index(" The talks")
    hits, _ = without_sentences(lambda s: "2%" in s)([_hit(*only_gold)], {"a1": BODY})
    assert hits == []


def test_later_moves_the_last_year_past_the_archive():
    assert later("Who won the 2023 award, announced in 2023?", 2023) == "Who won the 2023 award, announced in 2026?"
    assert later("Who won the award?", 2023) is None


def test_swapped_replaces_a_name_the_article_mentions_with_one_it_does_not():
    rng = random.Random(0)
    text = swapped("What did leaders agree in Vilnius?", BODY, ["Lisbon", "Vilnius", "New York"], rng)
    assert text == "What did leaders agree in Lisbon?"
    assert swapped("What did leaders agree in Riga?", BODY, ["Lisbon"], rng) is None
    assert names_in("Which company did Sam Altman lead?") == ["Sam Altman"]
