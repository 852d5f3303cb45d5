from index.models import Answer, RelatedArticle
from index.present import ABSTENTION, present_answer
from tests.index.present.samples import CRANES, HOSTILE, controls, quote


def test_quotes_from_one_article_cite_one_source_listed_once():
    shown = present_answer(CRANES)
    assert [(b.text, b.source) for b in shown.blocks] == [
        ("The cranes arrive in May.", 1),
        ("…unions welcomed the cranes…", 2),
        ("They cost $40m.", 1),
        ("Work starts soon.", 3),
    ]
    assert [(s.number, s.title, s.details) for s in shown.sources] == [
        (1, "Cranes due", "Harbour Times / Ann Lee, 2 Nov 2023"),
        (2, "Unions", "Dock News, 2 Nov 2023"),
        (3, "Work", "Harbour Times / Ann Lee"),
    ]
    assert shown.sources[0].link == "https://news.example/a#:~:text=x"  # opens at the first quote
    assert shown.sources[1].link == "https://news.example/b"  # no deep link: the article itself
    assert shown.as_of == "2 Nov 2023"


def test_summary_citations_follow_the_source_numbers():
    answer = Answer(
        question="q",
        abstained=False,
        quotes=(quote("a", "One."), quote("b", "Two."), quote("a", "Three.")),
        summary="Cranes come [1][3]. Unions agree [2]. Costs rose [3].",
    )
    assert present_answer(answer).summary == "Cranes come [1]. Unions agree [2]. Costs rose [1]."


def test_an_answer_without_quotes_abstains_with_the_nearest_articles():
    related = RelatedArticle("r", "Other story", "https://news.example/r", "Dock News", "2023-01-05", 0.3)
    shown = present_answer(Answer(question="q", abstained=False, related=(related,)))
    assert shown.abstained and shown.blocks == () and shown.sources == ()
    assert [(r.title, r.details, r.url) for r in shown.related] == [
        ("Other story", "Dock News, 5 Jan 2023", "https://news.example/r")
    ]


def test_nothing_presented_carries_a_control_character():
    answer = Answer(
        question=HOSTILE,
        abstained=False,
        quotes=(quote("a", HOSTILE, title=HOSTILE, source=HOSTILE, author=HOSTILE, url=f"https://x/{HOSTILE}"),),
        notes=(HOSTILE,),
        summary=HOSTILE + " [1]",
    )
    shown = present_answer(answer)
    fields = [shown.question, shown.summary, *shown.notes, *(b.text for b in shown.blocks)]
    fields += [v for s in shown.sources for v in (s.title, s.url, s.link, s.details)]
    assert all(controls(value) == [] for value in fields)
    assert shown.blocks[0].text == "Harbour cranes…"


def test_a_partial_answer_says_the_archive_has_the_topic_but_not_the_fact():
    related = RelatedArticle("r", "Cranes arrive in Lisbon", "https://news.example/r", "Dock News", "2023-01-05", 0.3)
    partial = Answer(question="q", abstained=True, related=(related,), partial=True, topic="Cranes arrive in Lisbon")
    shown = present_answer(partial)
    assert shown.abstained and shown.partial
    assert (
        shown.opening == "The archive covers “Cranes arrive in Lisbon”, but none of its articles says what you asked."
    )
    assert [r.title for r in shown.related] == ["Cranes arrive in Lisbon"]
    plain = present_answer(Answer(question="q", abstained=True, related=(related,)))
    assert not plain.partial and plain.opening == ABSTENTION
