"""The terminal skin: the answer layout a user reads, and no control character from an article."""

from bot.cli import terminal
from index.models import Answer, Article, FileProblem, Hit, IngestReport, RelatedArticle
from index.present import ABSTENTION
from tests.index.present.samples import CRANES, HOSTILE, controls, quote


def test_quotes_then_one_source_line_per_article():
    assert terminal.render_answer(CRANES).splitlines() == [
        "> “The cranes arrive in May.” [1]",
        "",
        "> “…unions welcomed the cranes…” [2]",
        "",
        "> “They cost $40m.” [1]",
        "",
        "> “Work starts soon.” [3]",
        "",
        "Sources:",
        "[1] Cranes due — Harbour Times / Ann Lee, 2 Nov 2023",
        "    https://news.example/a#:~:text=x",
        "[2] Unions — Dock News, 2 Nov 2023",
        "    https://news.example/b",
        "[3] Work — Harbour Times / Ann Lee",
        "    https://news.example/c#:~:text=x",
        "As of 2 Nov 2023.",
    ]


def test_long_quotes_wrap_inside_the_block_quote():
    answer = Answer(question="q", abstained=False, quotes=(quote("a", "word " * 60 + "end."),))
    lines = terminal.render_answer(answer, width=40).split("\n\nSources:")[0].splitlines()
    assert len(lines) > 5 and all(line.startswith("> ") and len(line) <= 40 for line in lines)
    assert lines[-1].endswith("end.” [1]")


def test_an_abstention_names_the_nearest_articles():
    related = RelatedArticle("r", "Other story", "https://news.example/r", "Dock News", "2023-01-05", 0.3)
    assert terminal.render_answer(Answer(question="q", abstained=True, related=(related,))).splitlines() == [
        ABSTENTION,
        "",
        "Nearest articles:",
        "  • Other story — Dock News, 5 Jan 2023",
        "    https://news.example/r",
    ]


def test_no_control_character_from_an_article_reaches_the_terminal():
    article = Article(
        HOSTILE, HOSTILE, f"{HOSTILE}\n\n\t{HOSTILE}", HOSTILE, "h", "2023", "2023", HOSTILE, HOSTILE, HOSTILE
    )
    hit = Hit(1, "a", HOSTILE, HOSTILE, HOSTILE, HOSTILE, HOSTILE, "2023-01-01", HOSTILE, 0, 9, 1.0)
    related = RelatedArticle("a", HOSTILE, HOSTILE, HOSTILE, HOSTILE, 0.2)
    answer = Answer(
        question=HOSTILE,
        abstained=False,
        quotes=(quote("a", HOSTILE, title=HOSTILE, source=HOSTILE, author=HOSTILE, url=HOSTILE, link=HOSTILE),),
        notes=(HOSTILE,),
        summary=HOSTILE,
    )
    outputs = [
        terminal.render_answer(answer),
        terminal.render_answer(Answer(question=HOSTILE, abstained=True, related=(related,), notes=(HOSTILE,))),
        terminal.render_hits([hit]),
        terminal.render_article_line(article),
        terminal.render_article(article),
        terminal.render_ingest(
            IngestReport(skipped=(FileProblem(HOSTILE, HOSTILE),), notes=(FileProblem(HOSTILE, HOSTILE),))
        ),
    ]
    assert all(controls(text) == [] for text in outputs), [t for t in outputs if controls(t)]
    assert terminal.render_article(article).endswith("Harbour cranes\n\n\tHarbour cranes")  # layout kept


def test_a_partial_answer_opens_with_what_the_archive_covers_then_the_nearest_articles():
    related = RelatedArticle("r", "Other story", "https://news.example/r", "Dock News", "2023-01-05", 0.3)
    answer = Answer(
        question="q",
        abstained=True,
        related=(related,),
        partial=True,
        topic="Other story",
        notes=("The archive's coverage of this ends on 5 Jan 2023.",),
    )
    lines = terminal.render_answer(answer).splitlines()
    assert lines[0] == "The archive covers “Other story”, but none of its articles says what you asked."
    assert lines[1:4] == ["", "Nearest articles:", "  • Other story — Dock News, 5 Jan 2023"]
    assert lines[-1] == "The archive's coverage of this ends on 5 Jan 2023."
