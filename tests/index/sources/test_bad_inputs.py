"""Every kind of bad input gets a clear, per-file reason instead of an exception."""

import time
from pathlib import Path

import pytest

from index.sources import read_file
from tests.index.sources.helpers import BAD, FORMATS


def reasons(result) -> list[str]:
    return [problem.reason for problem in result.problems]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("empty.txt", "The file is empty."),
        ("blank.txt", "The file is empty."),
        ("binary.txt", "The file is binary (it contains NUL bytes)."),
        ("not-articles.json", "JSON holds no articles (expected objects with a body, content or text field)."),
    ],
)
def test_unreadable_files_fail_with_their_reason(name, reason):
    result = read_file(BAD / name)
    assert result.fatal
    assert result.drafts == ()
    assert reasons(result) == [reason]
    assert result.problems[0].origin == str((BAD / name).resolve())


def test_control_characters_without_nul_bytes_count_as_binary(tmp_path):
    path = tmp_path / "noise.txt"
    path.write_bytes(bytes(range(1, 9)) * 50 + b"some text")
    assert reasons(read_file(path)) == ["The file is binary (too many control characters to be text)."]


def test_file_over_the_size_cap_is_refused():
    result = read_file(FORMATS / "harbour-storm.txt", max_bytes=100)
    assert result.fatal
    assert reasons(result) == ["The file is larger than the 100 bytes cap."]
    assert reasons(read_file(FORMATS / "harbour-storm.txt", max_bytes=20_000_000)) == []


def test_missing_file_is_reported(tmp_path):
    result = read_file(tmp_path / "gone.txt")
    assert result.fatal and reasons(result) == ["The file does not exist."]


def test_undecodable_utf8_falls_back_to_cp1252_with_a_note():
    result = read_file(BAD / "cp1252-price.txt")
    (draft,) = result.drafts
    assert draft.body == "A loaf now costs £1.20, down from £1.35 – a “welcome” cut."
    assert draft.encoding_note == "decoded as cp1252 (the file is not valid UTF-8)"
    assert [note.reason for note in result.notes] == ["decoded as cp1252 (the file is not valid UTF-8)"]


def test_bytes_undefined_in_cp1252_fall_back_to_latin1(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes(b"Caf\xe9 opens\n\nThe caf\xe9 opened \x81today.\n")
    result = read_file(path)
    assert result.drafts[0].title == "Café opens"
    assert result.drafts[0].encoding_note == "decoded as latin-1 (the file is not valid UTF-8 or cp1252)"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_with_byte_order_mark_is_decoded(tmp_path, encoding):
    path = tmp_path / "wide.txt"
    path.write_bytes("\ufeffCyrillic headline Привет\n\nThe body says “hello”: привет.\n".encode(encoding))
    (draft,) = read_file(path).drafts
    assert draft.title == "Cyrillic headline Привет"
    assert draft.body == "The body says “hello”: привет."
    assert draft.encoding_note.startswith("decoded as UTF-16")


def test_utf16_fixture_file_reads():
    (draft,) = read_file(BAD / "utf16-bom.txt").drafts
    assert draft.title == "Cyrillic headline Привет"


def test_utf8_byte_order_mark_is_dropped_silently(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffHeadline\n\nBody.".encode())
    result = read_file(path)
    assert result.drafts[0].title == "Headline" and result.notes == ()


def test_malformed_html_still_yields_its_text():
    (draft,) = read_file(BAD / "malformed-page.html").drafts
    assert draft.title == "Half a page"
    assert draft.body.split("\n\n") == [
        "The river rose overnight, flooding the lower town and closing the bridge road for several hours.",
        "Residents were moved to the school hall, where volunteers served hot soup until morning.",
        "Officials said the water would recede by Friday and that the road would reopen after the inspection.",
    ]


def test_html_without_any_text_is_reported(tmp_path):
    path = tmp_path / "shell.html"
    path.write_text("<html><head><title>x</title></head><body><script>app()</script></body></html>")
    result = read_file(path)
    assert result.fatal and reasons(result) == ["No article text was found in the HTML page."]


def test_article_with_no_body_after_cleaning_is_skipped_not_fatal():
    result = read_file(BAD / "chrome-only.txt")
    assert not result.fatal
    assert result.drafts == ()
    assert reasons(result) == ["The article has no body text after cleaning."]


def test_absurdly_long_line_skips_the_file_quickly(tmp_path):
    path = tmp_path / "generated.txt"
    path.write_text("Headline\n\n" + "word " * 400_000, encoding="utf-8")
    result = read_file(path)
    assert result.fatal
    assert reasons(result) == [
        "The file has a line of 2,000,000 characters without a line break (line 3; the limit is 100,000), "
        "so it looks like generated data rather than an article."
    ]


def test_absurdly_long_body_line_in_a_record_skips_only_that_record(tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_text(
        '{"title": "Fine", "body": "Short body."}\n{"title": "Huge", "body": "' + "x" * 150_000 + '"}\n',
        encoding="utf-8",
    )
    result = read_file(path)
    assert [draft.title for draft in result.drafts] == ["Fine"]
    assert result.problems[0].origin.endswith("#2")
    assert "150,000 characters without a line break" in result.problems[0].reason


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        (
            "broken.json",
            '{"title": "x", "body": ',
            "The file is not valid JSON (Expecting value at line 1, column 24).",
        ),
        ("list.json", "[1, 2, 3]", "JSON holds no articles (expected objects with a body, content or text field)."),
        (
            "table.csv",
            "name,age\nann,3\n",
            "The CSV header has no body column (expected a body, content or text field).",
        ),
        (
            "other.xml",
            "<?xml version='1.0'?><svg></svg>",
            "The XML file is not a WordPress export, the only XML format Archivist reads.",
        ),
    ],
)
def test_structured_files_that_are_not_articles_are_reported(tmp_path: Path, name, content, reason):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    result = read_file(path)
    assert result.fatal and reasons(result) == [reason]


def test_html_page_with_an_enormous_tree_is_refused_before_extraction(tmp_path):
    path = tmp_path / "dump.html"
    path.write_text("<html><body>" + "<p>Row.</p>" * 80_000 + "</body></html>", encoding="utf-8")
    result = read_file(path)
    assert result.fatal
    assert reasons(result) == [
        "The HTML page has about 160,004 tags (the limit is 150,000), too many for one article page."
    ]


ALIAS_BOMB = (
    "---\n"
    + "a: &a [x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"{chr(98 + n)}: &{chr(98 + n)} [{', '.join(['*' + chr(97 + n)] * 9)}]\n" for n in range(8))
    + "title: *i\n---\nBody of the bomb.\n"
)


@pytest.mark.parametrize(
    "front_matter",
    [
        ALIAS_BOMB,
        "---\nbase: &b {title: T}\npost:\n  <<: *b\n---\nBody.\n",
        "---\ntitle: &t Title\nauthor: *t\n---\nB\n",
    ],
)
def test_front_matter_with_yaml_anchors_or_aliases_is_refused_quickly(tmp_path, front_matter):
    path = tmp_path / "bomb.md"
    path.write_text(front_matter, encoding="utf-8")
    started = time.monotonic()
    result = read_file(path)
    assert time.monotonic() - started < 1
    assert result.fatal
    assert "YAML anchor or alias" in reasons(result)[0] and "line" in reasons(result)[0]


def test_front_matter_fields_are_capped(tmp_path):
    path = tmp_path / "long.md"
    tags = ", ".join(f"tag{n}" for n in range(500))
    path.write_text(
        f"---\ntitle: {'T' * 50_000}\nauthor: {'A' * 5_000}\ntags: [{tags}]\nurl: N/A\n---\nThe body.\n",
        encoding="utf-8",
    )
    (draft,) = read_file(path).drafts
    assert len(draft.title) == 1_000 and draft.title.endswith("…")
    assert len(draft.author) == 300 and len(draft.tags) == 100 and draft.url is None


def test_front_matter_longer_than_the_cap_is_refused(tmp_path):
    path = tmp_path / "huge-front.md"
    path.write_text("---\n" + "".join(f"k{n}: v\n" for n in range(20_000)) + "---\nBody.\n", encoding="utf-8")
    result = read_file(path)
    assert result.fatal and "front matter is longer than" in reasons(result)[0]
