"""Site chrome is removed from scraped pages without touching ordinary articles."""

from dataclasses import replace

from index.models import ArticleDraft
from index.sources import clean_site_chrome, read_file
from index.sources.page_chrome import strip_page_chrome
from tests.conftest import SEED_PAGE

SEED_TITLE = "Ukraine pessimistic about joining alliance as NATO meeting in Lithuania approaches"
ARTICLE_FIVE_END = "It’s compulsory for all member states to join in to protect the country being attacked."


def test_seed_page_is_one_article_without_its_sidebar():
    result = read_file(SEED_PAGE)
    (draft,) = result.drafts
    assert draft.title == SEED_TITLE
    assert draft.body.endswith(ARTICLE_FIVE_END)
    assert draft.body.startswith("With NATO leaders set to assemble on Tuesday")
    assert "Eventual Membership Unlikely To Prevent Potential Future Invasions" in draft.body
    for chrome in (
        "Recent Posts",
        "This website uses cookies",
        "Read More",
        "Geopolitical Monitor",
        "The daily developments on front of geopolitical relations",
        "Federal Funding Lapse",
        "Grammys 2026",
        "Muslim Brotherhood",
        "January 31, 2026",
    ):
        assert chrome not in draft.body


def test_teasers_with_their_headlines_dates_and_cookie_notices_are_dropped_without_a_heading():
    body = (
        "The harbour reopened on Monday after a week of repairs.\n\n"
        "Ferries will run on the usual timetable.\n\n"
        "Market hall to close for a week\n\n"
        "The market hall will close for maintenance from…\u00a0Read More\n\n"
        "March 3, 2025\n\n"
        "We use cookies to give you the best experience.\n\n"
        "Read More"
    )
    assert strip_page_chrome(body) == (
        "The harbour reopened on Monday after a week of repairs.\n\nFerries will run on the usual timetable."
    )


def test_section_headings_cut_the_rest_of_the_page():
    for heading in ("Related Articles", "You may also like", "Share this:", "Leave a Reply", "Popular Posts"):
        body = (
            f"First paragraph of the story.\n\nSecond paragraph of the story.\n\n{heading}\n\nSomething else entirely."
        )
        assert strip_page_chrome(body) == "First paragraph of the story.\n\nSecond paragraph of the story."


def test_ordinary_article_ending_without_a_full_stop_is_left_alone():
    body = (
        "The teams for Saturday's match were named.\n\n"
        "Wales: K Morgan, H Luscombe, T Shanklin\n\n"
        "Replacements: M Owen, G Thomas\n\n"
        "Visit the club shop to read more."
    )
    assert strip_page_chrome(body) == body


def test_bbc_articles_keep_their_bodies_intact(datasets):
    for name in ("business/001.txt", "sport/107.txt", "sport/122.txt", "entertainment/201.txt", "tech/001.txt"):
        path = datasets / "bbc_news" / "bbc" / name
        headline, _, rest = path.read_bytes().decode("utf-8").partition("\n")
        (draft,) = read_file(path).drafts
        assert draft.title == headline.strip()
        assert draft.body == rest.strip("\n"), name


def draft(number: int, body: str, source: str | None = "Valley Times") -> ArticleDraft:
    return ArticleDraft(title=f"Story {number}", body=body, origin=f"/archive/site/{number}.txt", source=source)


def test_lines_repeated_across_a_sources_documents_are_dropped():
    drafts = [
        draft(n, f"Home | News | Sport\n\nStory number {n} says something new.\n\n© Valley Times. All rights reserved.")
        for n in range(5)
    ]
    cleaned = clean_site_chrome(drafts)
    assert [d.body for d in cleaned] == [f"Story number {n} says something new." for n in range(5)]
    assert [replace(d, body="") for d in cleaned] == [replace(d, body="") for d in drafts]


def test_repeated_lines_need_three_documents_and_a_third_of_the_source():
    shared = "A sentence two documents happen to share."
    few = [draft(n, f"{shared}\n\nOwn text {n}.") for n in range(2)]
    assert clean_site_chrome(few) == few
    many = few + [draft(n, f"Unrelated text {n}.") for n in range(2, 12)]  # 2 of 12: under 30 %
    assert clean_site_chrome(many) == many


def test_sources_are_counted_separately_and_folders_stand_in_for_missing_sources():
    footer = "Subscribe to our print edition"
    drafts = [draft(n, f"{footer}\n\nText {n}.", source=f"Paper {n}") for n in range(4)]
    assert clean_site_chrome(drafts) == drafts
    unsourced = [draft(n, f"{footer}\n\nText {n}.", source=None) for n in range(4)]
    assert [d.body for d in clean_site_chrome(unsourced)] == [f"Text {n}." for n in range(4)]


def test_duplicate_documents_do_not_erase_each_other():
    copies = [draft(n, "The same article, stored three times.\n\nWith a second paragraph.") for n in range(3)]
    assert clean_site_chrome(copies) == copies
