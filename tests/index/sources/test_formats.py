"""One small file per supported format reads into the drafts a user would expect."""

from pathlib import Path

import pytest

from index.sources import FORMATS as FORMAT_NAMES
from index.sources import read_file
from tests.index.sources.helpers import FORMATS


def only_draft(path: Path):
    result = read_file(path)
    assert not result.fatal and not result.problems, result.problems
    assert len(result.drafts) == 1
    return result.drafts[0]


def test_plain_text_takes_the_headline_from_the_first_line_and_tidies_the_body():
    draft = only_draft(FORMATS / "harbour-storm.txt")
    assert draft.title == "Storm floods harbour district"
    assert draft.body == (
        "A powerful storm struck the northern coast on Tuesday, cutting power to thousands of homes.\n\n"
        "Emergency services said no one had been seriously hurt.\n\n"
        "The mayor said repairs would begin as soon as it is safe."
    )
    assert draft.origin == str((FORMATS / "harbour-storm.txt").resolve())


def test_windows_line_endings_become_newlines(tmp_path):
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"Headline here\r\n\r\nFirst paragraph.  \r\nSame paragraph.\r\n\r\n\r\n\r\nSecond paragraph.\r\n")
    draft = only_draft(path)
    assert draft.body == "First paragraph.\nSame paragraph.\n\nSecond paragraph."


def test_markdown_front_matter_supplies_the_metadata_and_markup_is_removed():
    draft = only_draft(FORMATS / "council-budget.md")
    assert draft.title == "Council approves budget"
    assert draft.published_at == "2024-03-05T18:30:00+01:00"
    assert (draft.author, draft.source, draft.url) == (
        "Jane Doe",
        "Riverside Gazette",
        "https://example.org/council-budget",
    )
    assert draft.category == "Politics"
    assert draft.tags == ("budget", "local politics")
    assert draft.body.startswith("The council approved its annual budget on Tuesday after a long debate.\n\n")
    assert "**" not in draft.body and "](" not in draft.body
    assert "resurfacing of the high street" in draft.body


def test_markdown_without_front_matter_takes_its_title_from_the_first_heading():
    draft = only_draft(FORMATS / "library-reopens.md")
    assert draft.title == "Library reopens after repairs"
    assert draft.body == (
        "The town library reopened on Monday after six months of repairs to its roof.\n\nReaders queued from early morning."
    )


def test_html_page_yields_main_text_and_metadata_without_navigation_or_sidebar():
    draft = only_draft(FORMATS / "bridge-page.html")
    assert draft.title == "New bridge opens to traffic"
    assert draft.author == "Sam Lee"
    assert draft.source == "Valley Times"
    assert draft.url == "https://valley.example/news/new-bridge"
    assert draft.published_at == "2024-05-02T08:15:00+02:00"
    paragraphs = draft.body.split("\n\n")
    assert len(paragraphs) == 3
    assert paragraphs[0].startswith("The new bridge over the river opened to traffic")
    for chrome in ("Home", "Recent Posts", "chess cup", "cookies", "© 2024"):
        assert chrome not in draft.body


def test_json_maps_field_names_case_insensitively_and_reports_bad_records():
    path = FORMATS / "news-feed.json"
    result = read_file(path)
    assert not result.fatal
    first, second = result.drafts
    assert first.title == "Port strike ends"
    assert (
        first.body
        == "Dock workers returned to work on Friday after a week-long strike.\n\nThe union said a new pay deal had been agreed."
    )
    assert first.url == "https://news.example/port"
    assert first.published_at == "2024-05-31T17:00:00+00:00"
    assert first.author == "Ana Ruiz, Tom Ng"
    assert (first.category, first.tags, first.source) == ("Business", ("labour", "shipping"), "Coast News")
    assert first.origin == f"{path.resolve()}#1"
    assert second.body == "The summer festival announced its line-up.\n\nTickets go on sale on Monday."
    assert second.published_at == "2024-05-30"
    reasons = {problem.origin.rsplit("#", 1)[1]: problem.reason for problem in result.problems}
    assert reasons == {
        "3": "Record 3 has no body text (expected a body, content or text field).",
        "4": "Record 4 is not an object with article fields.",
    }


def test_json_lines_reads_each_line_and_names_the_broken_one():
    path = FORMATS / "wire.jsonl"
    result = read_file(path)
    assert [draft.title for draft in result.drafts] == ["Rates held steady", "Exports rise"]
    assert result.drafts[0].published_at == "2024-04-10T14:00:00"  # no timezone given: none invented
    assert result.drafts[1].published_at == "2024-04-11T09:00:00+00:00"
    assert result.drafts[1].origin == f"{path.resolve()}#4"
    assert [problem.reason for problem in result.problems] == ["Line 3 is not valid JSON (Expecting value)."]


def test_csv_with_header_maps_columns_and_keeps_multiline_bodies():
    result = read_file(FORMATS / "briefs.csv")
    tram, park = result.drafts
    assert tram.title == "Tram line extended"
    assert tram.body == "The tram line now reaches the airport.\n\nTrams run every ten minutes."
    assert tram.published_at == "2024-02-01T07:00:00-05:00"
    assert (tram.author, tram.category, tram.url, tram.source) == (
        "Kim Park",
        "Transport",
        "https://city.example/tram",
        "City Desk",
    )
    assert park.published_at is None
    assert [note.reason for note in result.notes] == [
        "The date 'not a date' could not be read, so the article has no date."
    ]
    assert [problem.reason for problem in result.problems] == [
        "Record 2 has no body text (expected a body, content or text field)."
    ]


def test_wordpress_export_reads_published_posts_only():
    path = FORMATS / "wordpress-export.xml"
    result = read_file(path)
    (post,) = result.drafts
    assert post.title == "Orchard harvest breaks record"
    assert post.body == (
        "The hill orchards picked a record crop of apples this year.\n\n"
        "Growers credited the warm spring & a dry summer.\n\n"
        "Prices\n\n"
        "Prices at the market fell by a fifth."
    )
    assert (post.author, post.source, post.category, post.tags) == ("mira", "Hilltop Herald", "Farming", ("apples",))
    assert post.published_at == "2024-09-09T10:00:00+00:00"
    assert post.url == "https://hilltop.example/2024/09/orchard-harvest"
    assert post.origin == f"{path.resolve()}#1"
    assert [note.reason for note in result.notes] == [
        "Skipped 2 items that are not published posts (pages, attachments, drafts)."
    ]


def test_format_option_overrides_the_extension(tmp_path):
    path = tmp_path / "export.dat"
    path.write_text('[{"title": "T", "body": "Body text."}]', encoding="utf-8")
    assert read_file(path, format="json").drafts[0].body == "Body text."
    as_text = read_file(path, format="text")  # one line: a headline with no body
    assert [problem.reason for problem in as_text.problems] == ["The article has no body text after cleaning."]


def test_unknown_extension_is_sniffed(tmp_path):
    page = tmp_path / "saved_page"
    page.write_text((FORMATS / "bridge-page.html").read_text(encoding="utf-8"), encoding="utf-8")
    assert read_file(page).drafts[0].source == "Valley Times"


def test_unknown_format_name_is_reported_not_raised():
    result = read_file(FORMATS / "harbour-storm.txt", format="docx")
    assert result.fatal
    assert result.problems[0].reason == f"Unknown format 'docx'; expected one of {', '.join(FORMAT_NAMES)}."


@pytest.mark.parametrize("name", ["news-feed.json", "wordpress-export.xml"])
def test_reading_twice_gives_identical_drafts(name):
    assert read_file(FORMATS / name) == read_file(FORMATS / name)
