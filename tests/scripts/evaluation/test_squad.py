import json

from index.models import Hit
from scripts.evaluation import multihop, squad
from scripts.evaluation.retrievers import build_hybrid
from tests.index.embedding.fake_embedding import BagOfWordsEmbedder

PARAGRAPHS = {
    "Normans": [
        "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region "
        "in France. They were descended from Norse raiders and pirates from Denmark, Iceland and Norway.",
        "The Norman dynasty had a major political, cultural and military impact on medieval Europe and even "
        "the Near East. The Normans were famed for their martial spirit and eventually for their Catholic piety.",
    ],
    "Oxygen": [
        "Oxygen is a chemical element with symbol O and atomic number 8. It is a member of the chalcogen group "
        "on the periodic table and is a highly reactive nonmetal and oxidizing agent.",
        "Oxygen was discovered independently by Carl Wilhelm Scheele, in Uppsala, in 1773 or earlier, and "
        "Joseph Priestley in Wiltshire, in 1774.",
    ],
}
QUESTIONS = {
    "Normans": [("In what country is Normandy located?", "France"), ("What was the Norman religion?", "Catholic")],
    "Oxygen": [
        ("What is the atomic number of oxygen?", "8"),
        ("Who discovered oxygen in Wiltshire?", "Joseph Priestley"),
    ],
}


def write_squad(path):
    data = []
    for title, paragraphs in PARAGRAPHS.items():
        data.append(
            {
                "title": title,
                "paragraphs": [
                    {
                        "context": p,
                        "qas": [
                            {"id": f"{title}{i}{j}", "question": q, "answers": [{"text": a}]}
                            for j, (q, a) in enumerate(QUESTIONS[title])
                            if a in p
                        ],
                    }
                    for i, p in enumerate(paragraphs)
                ],
            }
        )
    path.write_text(json.dumps({"version": "1.1", "data": data}))


def test_loader_makes_one_article_per_title_with_its_questions(tmp_path):
    write_squad(tmp_path / "dev.json")
    drafts, questions = squad.load_squad(tmp_path / "dev.json")
    assert [d.title for d in drafts] == ["Normans", "Oxygen"]
    assert PARAGRAPHS["Oxygen"][1] in drafts[1].body
    assert [(q.question, q.answers, q.article_index) for q in questions][-1] == (
        "Who discovered oxygen in Wiltshire?",
        ("Joseph Priestley",),
        1,
    )


def test_answer_counts_only_inside_a_chunk_of_the_right_article():
    def hit(article_id, text):
        return Hit(1, article_id, "t", None, None, None, None, None, text, 0, len(text), 1.0)

    assert squad.answered([hit("b", "x"), hit("a", "Joseph\nPriestley found it")], "a", ["joseph priestley"])
    assert not squad.answered([hit("b", "Joseph Priestley")], "a", ["Joseph Priestley"])
    assert not squad.answered([hit("b", "x")] * 5 + [hit("a", "Joseph Priestley")], "a", ["Joseph Priestley"])


def test_tiny_squad_evaluation_finds_every_answer(tmp_path):
    write_squad(tmp_path / "dev.json")
    drafts, questions = squad.load_squad(tmp_path / "dev.json")
    articles = multihop.as_articles(drafts)
    metrics = squad.evaluate(build_hybrid(articles, BagOfWordsEmbedder()), questions, [a.id for a in articles])
    assert metrics.questions == 4
    assert metrics.answer_in_top5 == 1.0
    assert metrics.article_in_top1 == 1.0
