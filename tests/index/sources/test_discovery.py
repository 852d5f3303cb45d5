"""Files, folders and glob patterns expand into the files to read."""

from pathlib import Path

from index.sources import iter_inputs, origin_file


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
    return [str(path.relative_to(root)) for path in paths]


def test_folder_is_walked_recursively_in_sorted_order_skipping_hidden_and_non_article_files(tmp_path):
    make_tree(tmp_path)
    assert relative(iter_inputs([tmp_path]), tmp_path) == [
        "a/deeper/third.json",
        "a/first.txt",
        "b/second.md",
        "top.csv",
    ]


def test_named_files_are_read_whatever_their_extension_and_only_once(tmp_path):
    make_tree(tmp_path)
    named = [tmp_path / "a" / "picture.jpg", str(tmp_path / "top.csv"), tmp_path / "top.csv", tmp_path / "a"]
    assert relative(iter_inputs(named), tmp_path) == ["a/picture.jpg", "top.csv", "a/deeper/third.json", "a/first.txt"]


def test_glob_patterns_expand_and_unmatched_inputs_are_passed_on_for_reporting(tmp_path):
    make_tree(tmp_path)
    assert relative(iter_inputs([f"{tmp_path}/**/*.txt"]), tmp_path) == ["a/first.txt"]
    missing = [tmp_path / "nothing-*.json", tmp_path / "gone.txt"]
    assert list(iter_inputs(missing)) == missing


def test_origin_file_strips_the_record_number():
    assert origin_file("/archive/feed.json#12") == Path("/archive/feed.json")
    assert origin_file("/archive/story.txt") == Path("/archive/story.txt")
