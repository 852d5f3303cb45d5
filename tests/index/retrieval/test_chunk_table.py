"""The retriever keeps a table of its chunks, not their records, and returns only chunks whose text it scored."""

import gc
import weakref

import pytest

from index.models import ChunkRecord
from index.retrieval.chunk_table import MAGIC, ChunkTable, ChunkTableUnusable
from index.retrieval.hybrid import HybridRetriever


def record(chunk_id: int, text: str, *, article: str = "a1", source: str = "The Ledger") -> ChunkRecord:
    return ChunkRecord(
        chunk_id=chunk_id,
        article_id=article,
        ordinal=0,
        start=0,
        end=len(text),
        text=text,
        title=f"Headline {article}",
        source=source,
        author=None,
        category="Politics",
        published_at="2024-03-01T08:00:00+00:00",
        url=None,
    )


TEXTS = {
    40: "The harbour authority closed the northern pier until spring.",
    7: "Fishing boats moved south to the old quay.",
    19: "The council voted to fund a new ferry terminal.",
}


def test_positions_follow_the_records_order_and_unknown_ids_get_minus_one():
    table = ChunkTable.of(record(chunk_id, text, article=f"a{chunk_id % 2}") for chunk_id, text in TEXTS.items())
    assert table.positions([19, 40, 5, 7]).tolist() == [2, 0, -1, 1]
    assert table.article.tolist() == [0, 1, 1]
    assert table.article_ids == ["a0", "a1"] and table.categories == ["politics", "politics"]
    assert table.positions([]).size == 0


def test_a_table_tells_a_rewritten_chunk_from_its_old_text():
    table = ChunkTable.of([record(7, TEXTS[7])])
    assert table.holds(0, record(7, TEXTS[7]))
    assert not table.holds(0, record(7, TEXTS[7].replace("south", "north")))


def test_the_retriever_holds_no_record_and_leaves_out_a_chunk_rewritten_since_it_was_built():
    stored = {chunk_id: record(chunk_id, text) for chunk_id, text in TEXTS.items()}
    records = [record(chunk_id, text) for chunk_id, text in TEXTS.items()]
    watched = [weakref.ref(r) for r in records]
    retriever = HybridRetriever.build(records, None, None, fetch=lambda ids: [stored[i] for i in ids if i in stored])
    del records
    gc.collect()
    assert all(ref() is None for ref in watched)  # the records it was built from are gone

    assert [hit.chunk_id for hit in retriever.search("harbour pier closed")][:1] == [40]
    stored[40] = record(40, "The harbour authority reopened every pier.")  # an ingest rewrote it since
    del stored[19]  # and deleted this one
    hits = retriever.search("harbour pier closed ferry terminal council")
    assert [hit.chunk_id for hit in hits] == [7]  # scored on its old text, 40 is not returned with its new one


def test_a_saved_table_opens_as_it_was_with_its_stamp(tmp_path):
    records = [record(chunk_id, text, article=f"a{chunk_id % 2}") for chunk_id, text in TEXTS.items()]
    records.append(record(3, "Ein Bericht über die Fähre.", article="ü/3", source="Der Hafen"))
    table = ChunkTable.of(records)
    table.save(tmp_path / "chunks.table", stamp={"generation": 4, "pending": 1})
    opened, stamp = ChunkTable.load(tmp_path / "chunks.table")
    assert stamp == {"generation": 4, "pending": 1} == ChunkTable.stamp_of(tmp_path / "chunks.table")
    assert opened.positions([3, 19, 40, 5]).tolist() == table.positions([3, 19, 40, 5]).tolist() == [3, 2, 0, -1]
    assert (opened.article_ids, opened.sources, opened.published) == (table.article_ids, table.sources, table.published)
    assert opened.holds(3, records[3]) and not opened.holds(3, record(3, "Ein anderer Bericht."))
    ChunkTable.of([]).save(tmp_path / "empty.table", stamp={})
    assert len(ChunkTable.load(tmp_path / "empty.table")[0]) == 0


DAMAGES = ("truncated", "flipped", "trailing", "version", "header", "empty")


def damaged(content: bytes, damage: str) -> bytes:
    flipped = bytearray(content)
    flipped[-40] ^= 0x01
    return {
        "truncated": content[: len(content) - 9],
        "flipped": bytes(flipped),
        "trailing": content + b"\0",
        "version": MAGIC[:-1] + b"\x09" + content[len(MAGIC) :],
        "header": content[: len(MAGIC) + 4] + b"{" * 20,
        "empty": b"",
    }[damage]


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_table_file_is_refused_in_one_sentence(tmp_path, damage):
    path = tmp_path / "chunks.table"
    ChunkTable.of(record(chunk_id, text) for chunk_id, text in TEXTS.items()).save(path, stamp={"generation": 1})
    path.write_bytes(damaged(path.read_bytes(), damage))
    with pytest.raises(ChunkTableUnusable, match=r"^The chunk table file .* (is|was|has|does) [^\n]*\.$"):
        ChunkTable.load(path)
    with pytest.raises(ChunkTableUnusable, match="is missing"):
        ChunkTable.load(tmp_path / "nowhere.table")
