"""Files, folders and glob patterns expand into the files to read, and nothing found in them can stop the
batch, escape the given paths, block, or run without bound."""

import os
import time
from pathlib import Path

import pytest

from index.sources import discover, origin_file
from index.sources.origins import file_origin, file_part, legacy_files, parse_origin, record_origin


def make_tree(root: Path) -> None:
    for name in (
        "b/second.md",
        "a/first.txt",
        "a/deeper/third.json",
        "a/.hidden.txt",
        ".git/config.txt",
        "a/picture.jpg",
        "a/README.TXT",
        "top.csv",
    ):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x", encoding="utf-8")


def relative(paths, root: Path) -> list[str]:
    return [str(path.relative_to(root.resolve())) for path in paths]


def skipped(found) -> dict[str, str]:
    return {os.path.basename(problem.origin): problem.reason for problem in found.problems}


def test_folder_is_walked_recursively_in_sorted_order_skipping_hidden_and_non_article_files(tmp_path):
    make_tree(tmp_path)
    found = discover([tmp_path])
    assert relative(found.files, tmp_path) == ["a/deeper/third.json", "a/first.txt", "b/second.md", "top.csv"]
    assert found.problems == [] and found.missing == []


def test_named_files_are_read_whatever_their_extension_and_only_once(tmp_path):
    make_tree(tmp_path)
    named = [tmp_path / "a" / "picture.jpg", str(tmp_path / "top.csv"), tmp_path / "top.csv", tmp_path / "a"]
    assert relative(discover(named).files, tmp_path) == [
        "a/picture.jpg",
        "top.csv",
        "a/deeper/third.json",
        "a/first.txt",
    ]


def test_glob_patterns_expand_and_unmatched_inputs_are_reported_missing(tmp_path):
    make_tree(tmp_path)
    assert relative(discover([f"{tmp_path}/**/*.txt"]).files, tmp_path) == ["a/first.txt"]
    assert relative(discover([f"{tmp_path}/*/f*.txt"]).files, tmp_path) == ["a/first.txt"]
    assert relative(discover([f"{tmp_path}/b/**"]).files, tmp_path) == ["b/second.md"]
    missing = [tmp_path / "nothing-*.json", tmp_path / "gone.txt"]
    found = discover(missing)
    assert found.files == [] and [p.origin for p in found.missing] == [str(p) for p in missing]


def test_a_name_that_is_not_utf8_is_one_skipped_entry(tmp_path):
    make_tree(tmp_path)
    bad = os.fsdecode(b"bad-\xff\xfe-name.txt")
    (tmp_path / "a" / bad).write_text("x", encoding="utf-8")
    (tmp_path / os.fsdecode(b"folder-\xff")).mkdir()
    found = discover([tmp_path])
    assert relative(found.files, tmp_path) == ["a/deeper/third.json", "a/first.txt", "b/second.md", "top.csv"]
    reasons = skipped(found)
    assert reasons == {
        "bad-\\xff\\xfe-name.txt": "The name is not valid UTF-8, so it was not read.",
        "folder-\\xff": "The name is not valid UTF-8, so it was not read.",
    }
    for problem in found.problems:
        problem.origin.encode("utf-8")  # printable and storable


def test_an_unreadable_folder_is_one_skipped_entry_and_the_walk_goes_on(tmp_path, monkeypatch):
    make_tree(tmp_path)
    real_scandir = os.scandir
    locked = tmp_path / "a" / "deeper"

    def scandir(path):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found = discover([tmp_path])
    assert relative(found.files, tmp_path) == ["a/first.txt", "b/second.md", "top.csv"]
    assert skipped(found) == {"deeper": "The folder could not be read (Permission denied)."}


def test_symlinked_files_are_not_followed_by_default(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("secret", encoding="utf-8")
    root = tmp_path / "root"
    (root / "inner").mkdir(parents=True)
    (root / "real.txt").write_text("x", encoding="utf-8")
    (root / "to-outside.txt").symlink_to(outside)
    (root / "to-inside.txt").symlink_to(root / "real.txt")
    (root / "to-etc").symlink_to("/etc")
    for pattern in ([root], [f"{root}/*"], [f"{root}/**/*.txt"]):
        found = discover(pattern)
        assert relative(found.files, tmp_path) == ["root/real.txt"], pattern
        assert (
            {"to-outside.txt", "to-inside.txt"} <= set(skipped(found)) <= {"to-outside.txt", "to-inside.txt", "to-etc"}
        )
        assert all("symbolic link" in reason for reason in skipped(found).values())


def test_follow_symlinks_reads_links_to_regular_files_inside_the_given_paths_only(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("secret", encoding="utf-8")
    root = tmp_path / "root"
    root.mkdir()
    (root / "real.txt").write_text("x", encoding="utf-8")
    (root / "z-link.txt").symlink_to(root / "real.txt")
    (root / "other.txt").symlink_to(tmp_path / "elsewhere" / "other.txt")
    (root / "to-outside.txt").symlink_to(outside)
    (root / "to-folder.txt").symlink_to(root)
    (root / "broken.txt").symlink_to(root / "nowhere.txt")
    found = discover([root], follow_symlinks=True)
    assert relative(found.files, tmp_path) == ["root/real.txt"]
    reasons = skipped(found)
    assert "outside the given paths" in reasons["to-outside.txt"]
    assert "not point to a regular file" in reasons["to-folder.txt"]
    assert "broken" in reasons["broken.txt"] and "broken" in reasons["other.txt"]
    assert relative(discover([root / "z-link.txt", root], follow_symlinks=True).files, tmp_path) == ["root/real.txt"]


def test_globs_never_go_through_folder_links_and_self_links_do_not_explode(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "story.txt").write_text("x", encoding="utf-8")
    for name in ("loop1", "loop2", "loop3"):
        (root / name).symlink_to(root)
        (root / "sub" / name).symlink_to(root / "sub")
    (root / "escape").symlink_to("/")
    started = time.monotonic()
    found = discover([f"{root}/**/*.txt", f"{root}/**/*", f"{root}/*/*/*/*.txt", root])
    assert time.monotonic() - started < 2
    assert relative(found.files, tmp_path) == ["root/sub/story.txt"]
    assert all(not str(path).startswith(("/etc", "/usr")) for path in found.files)


def test_a_fifo_is_skipped_and_never_blocks(tmp_path):
    (tmp_path / "story.txt").write_text("x", encoding="utf-8")
    os.mkfifo(tmp_path / "pipe.txt")
    for paths in ([tmp_path], [tmp_path / "pipe.txt"], [f"{tmp_path}/*.txt"]):
        found = discover(paths)
        assert [p.name for p in found.files] == (["story.txt"] if paths[0] != tmp_path / "pipe.txt" else [])
        assert skipped(found) == {
            "pipe.txt": "It is not a regular file (a FIFO, socket or device), so it was not read."
        }


def test_the_walk_stops_at_the_entry_cap_and_says_so(tmp_path):
    for number in range(50):
        (tmp_path / f"{number:02}.txt").write_text("x", encoding="utf-8")
    found = discover([tmp_path], max_entries=20)
    assert found.files == []
    (problem,) = found.problems
    assert problem.reason == "The walk stopped after 20 entries (the cap), so the rest was not read."
    assert len(discover([tmp_path], max_entries=50).files) == 50


def test_origin_file_strips_the_record_number():
    assert origin_file("/archive/feed.json#12") == Path("/archive/feed.json")
    assert origin_file("/archive/story.txt") == Path("/archive/story.txt")
    assert origin_file("upload:" + "ab" * 32 + "#3") is None
    assert origin_file("https://example.com/a#12") is None


@pytest.mark.parametrize("name", ["story#12", "a#1.json", "##5", "x###", "plain.txt", "odd#", "#7#8"])
def test_a_hash_in_a_file_name_never_reads_as_a_record_number(tmp_path, name):
    path = tmp_path / name
    path.write_text("x", encoding="utf-8")
    whole = file_origin(path)
    assert parse_origin(whole).file == path.resolve() and parse_origin(whole).record is None
    record = record_origin(whole, 4)
    assert parse_origin(record).file == path.resolve() and parse_origin(record).record == 4
    assert file_part(record) == whole and file_part(whole) == whole


def test_origins_stored_before_hashes_were_doubled_still_name_their_file():
    assert Path("/old/story#12") in legacy_files("/old/story#12")
    assert legacy_files("/old/feed.json#3")[0] == Path("/old/feed.json")
    assert legacy_files("upload:abc#1") == ()
