from hypothesis import given, settings
from hypothesis import strategies as st

from index.answering.candidates import FEATURES, MAX_CANDIDATES, candidate_features, named_articles
from index.answering.quotes import rank_quotes, select_quotes
from index.models import Hit
from index.present import display_text
from index.question import question_clauses
from tests.index.embedding.fake_embedding import BagOfWordsEmbedder

GM = (
    "General Motors said on Tuesday it would recall about 1,000 Cadillac Lyriq electric SUVs. "
    "The recall follows reports that a software fault can leave the electric parking brake engaged. "
    "Dealers will update the software for free. "
    "GM shares closed slightly higher.\n\n"
    "Separately, the company named a new head of its Cruise robotaxi unit."
)
WEATHER = "Heavy rain flooded parts of Valencia on Monday. Schools stayed closed as the clean-up began."
SPORT = "The Lakers beat the Celtics 110-101. LeBron James scored 31 points in the win."

BODIES = {"gm": GM, "weather": WEATHER, "sport": SPORT}


def hit(article_id: str, score: float, start: int = 0, end: int | None = None, url: str | None = None) -> Hit:
    body = BODIES[article_id]
    end = len(body) if end is None else end
    return Hit(
        chunk_id=hash((article_id, start)) % 10_000,
        article_id=article_id,
        title=f"{article_id} headline",
        url=url,
        source="Example News",
        author="A. Writer",
        category="news",
        published_at="2023-11-12T09:00:00+00:00",
        text=body[start:end],
        start=start,
        end=end,
        score=score,
    )


def test_the_sentence_that_answers_comes_first_and_is_verbatim():
    hits = [hit("weather", 3.0), hit("gm", 2.0, url="https://news.example/gm")]
    quotes = select_quotes("Why is GM recalling Cadillac Lyriq SUVs?", hits, BODIES, embedder=BagOfWordsEmbedder())
    first = quotes[0]
    assert first.article_id == "gm"
    assert "recall" in first.text and "Cadillac Lyriq" in first.text
    for q in quotes:
        assert BODIES[q.article_id][q.start : q.end] == q.text
    assert (
        first.title == "gm headline" and first.source == "Example News" and first.published_at.startswith("2023-11-12")
    )
    assert first.link.startswith("https://news.example/gm#:~:text=")
    assert [q.score for q in quotes] == sorted((q.score for q in quotes), reverse=True)


def test_limits_on_quotes_and_articles_hold():
    hits = [hit("gm", 3.0), hit("weather", 2.0), hit("sport", 1.0)]
    embedder = BagOfWordsEmbedder()
    quotes = select_quotes("software recall rain Lakers points", hits, BODIES, embedder=embedder, max_quotes=2)
    assert len(quotes) <= 2
    one_article = select_quotes("software recall rain Lakers", hits, BODIES, embedder=embedder, max_articles=1)
    assert len({q.article_id for q in one_article}) == 1
    spans = sorted((q.start, q.end) for q in one_article)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:], strict=False))


def test_only_sentences_of_the_retrieved_passage_are_quoted():
    start = GM.index("Separately")
    quotes = select_quotes(
        "software fault parking brake", [hit("gm", 1.0, start=start)], BODIES, embedder=BagOfWordsEmbedder()
    )
    assert all(q.start >= start for q in quotes)


def test_a_neighbour_that_also_answers_is_merged_into_one_quote():
    body = "Orbital said the launch slipped to March. The delay stems from a launch pad fault, Orbital said. Unrelated closing line."
    BODIES["space"] = body
    try:
        quotes = select_quotes(
            "Why did Orbital say the launch slipped?", [hit("space", 1.0)], BODIES, embedder=BagOfWordsEmbedder()
        )
    finally:
        del BODIES["space"]
    assert (
        quotes[0].text
        == "Orbital said the launch slipped to March. The delay stems from a launch pad fault, Orbital said."
    )


def test_a_very_long_sentence_is_trimmed_to_its_answering_clauses_with_an_ellipsis():
    filler = ", ".join(f"the committee also reviewed item number {i} of the agenda" for i in range(12))
    body = f"In a long session, {filler}, and the minister confirmed the pension reform would start in 2025, {filler}."
    BODIES["long"] = body
    try:
        quotes = select_quotes(
            "When will the pension reform start?", [hit("long", 1.0)], BODIES, embedder=BagOfWordsEmbedder()
        )
    finally:
        del BODIES["long"]
    q = quotes[0]
    assert "pension reform would start in 2025" in q.text
    assert len(q.text) < len(body) / 2
    assert body[q.start : q.end] == q.text
    shown = display_text(q)
    assert shown.startswith("…") or shown.endswith("…")
    assert shown.strip("…") == q.text


def test_a_whole_sentence_is_displayed_without_ellipsis():
    quotes = select_quotes("Lakers Celtics score", [hit("sport", 1.0)], BODIES, embedder=BagOfWordsEmbedder())
    assert display_text(quotes[0]) == quotes[0].text


def test_only_a_bounded_number_of_sentences_is_embedded():
    body = " ".join(f"Sentence number {i} mentions budgets and taxes." for i in range(200))
    BODIES["many"] = body
    try:
        embedder = BagOfWordsEmbedder()
        rank_quotes("budgets and taxes", [hit("many", 1.0)], BODIES, embedder=embedder)
    finally:
        del BODIES["many"]
    assert embedder.passages_encoded <= MAX_CANDIDATES


def test_no_hits_or_unknown_bodies_give_no_quotes():
    assert select_quotes("anything", [], BODIES, embedder=BagOfWordsEmbedder()) == []
    assert select_quotes("anything", [hit("gm", 1.0)], {}, embedder=BagOfWordsEmbedder()) == []


words = st.sampled_from("the court ruled that bank rates would rise again while markets fell sharply".split())
sentence = st.lists(words, min_size=1, max_size=12).map(lambda ws: " ".join(ws).capitalize() + ".")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(sentence, min_size=1, max_size=15),
    st.sampled_from([" ", "\n", "  ", "\n\n"]),
    st.text(min_size=1, max_size=30),
)
def test_every_quote_is_the_body_at_its_offsets(sentences, separator, question):
    body = separator.join(sentences)
    bodies = {"a": body}
    h = Hit(1, "a", "t", None, None, None, None, None, body, 0, len(body), 1.0)
    for q in select_quotes(question, [h], bodies, embedder=BagOfWordsEmbedder()):
        assert body[q.start : q.end] == q.text and q.text.strip() == q.text and q.text


def test_a_many_part_question_gets_a_quote_for_each_part():
    bodies = {
        "boxing": "Canelo Alvarez has earned close to Floyd Mayweather's fortune over the years. The Mexican fighter "
        "signed a new deal. Tickets sold out quickly.",
        "crypto": "Prosecutors said Sam Bankman-Fried spent customer money on luxury homes. His lawyers disagreed.",
    }
    hits = [
        Hit(
            1,
            "boxing",
            "Canelo",
            None,
            "Essentially Sports",
            None,
            None,
            None,
            bodies["boxing"],
            0,
            len(bodies["boxing"]),
            2.0,
        ),
        Hit(2, "crypto", "SBF", None, "TechCrunch", None, None, None, bodies["crypto"], 0, len(bodies["crypto"]), 1.0),
    ]
    question = (
        "Does the Essentially Sports article say Canelo Alvarez earned close to Floyd Mayweather's fortune, "
        "while TechCrunch says prosecutors accused Sam Bankman-Fried of spending customer money?"
    )
    quotes = select_quotes(question, hits, bodies, embedder=BagOfWordsEmbedder(), max_quotes=2)
    assert {q.article_id for q in quotes} == {"boxing", "crypto"}


def outlet_hit(article_id: str, body: str, source: str, published_at: str, score: float) -> Hit:
    return Hit(1, article_id, article_id, None, source, None, None, published_at, body, 0, len(body), score)


def test_outlets_named_in_the_question_are_recognised_with_their_dates():
    hits = [
        outlet_hit("tc-oct1", "x", "TechCrunch", "2023-10-01T10:00:00+00:00", 3.0),
        outlet_hit("tc-oct7", "x", "TechCrunch", "2023-10-07T10:00:00+00:00", 2.0),
        outlet_hit("cnbc", "x", "Cnbc | World Business News Leader", "2023-10-02", 1.5),
        outlet_hit("age", "x", "The Age", "2023-10-03", 1.0),
    ]
    question = "Did the TechCrunch report published on October 7, 2023 agree with CNBC about the age of the founder?"
    named = named_articles(question, hits)
    assert set(named) == {"tc-oct7", "cnbc"}  # the other TechCrunch date is excluded, "the age" is no outlet
    assert named["tc-oct7"] < named["cnbc"]


def test_a_quote_from_the_named_outlet_is_preferred_to_a_similar_one_elsewhere():
    bodies = {
        "wire": "Ohtani signed a record contract with the Dodgers worth 700 million dollars.",
        "sn": "The Dodgers gave Ohtani a contract of 700 million dollars, the largest ever.",
    }
    hits = [
        outlet_hit("wire", bodies["wire"], "Wire Service", "2023-12-10", 3.0),
        outlet_hit("sn", bodies["sn"], "Sporting News", "2023-12-10", 2.0),
    ]
    question = "What does the Sporting News article say about the contract Ohtani signed with the Dodgers?"
    quotes = select_quotes(question, hits, bodies, embedder=BagOfWordsEmbedder(), max_quotes=1)
    assert [q.article_id for q in quotes] == ["sn"]


def test_a_many_part_question_is_split_into_clauses_and_a_simple_one_is_not():
    question = (
        "Which company, reported by The Verge and TechCrunch, paid billions to be the default search engine "
        "and faces a class action suit from news publishers?"
    )
    assert question_clauses(question) == [  # parts of one content word ("Which company", "TechCrunch") are dropped
        "reported by The Verge",
        "paid billions to be the default search engine",
        "faces a class action suit from news publishers",
    ]
    assert question_clauses("Why is GM recalling Cadillac Lyriq SUVs?") == []


def test_candidate_features_describe_each_sentence_in_model_order():
    bodies = {"sn": "Ohtani signed for 700 million dollars. The Dodgers celebrated. Fans cheered loudly."}
    hits = [outlet_hit("sn", bodies["sn"], "Sporting News", "2023-12-10", 2.0)]
    question = "How much did Ohtani sign for, according to Sporting News?"
    cands = candidate_features(question, hits, bodies, embedder=BagOfWordsEmbedder())
    assert cands.features.shape == (3, len(FEATURES))
    row = {a[1]: dict(zip(FEATURES, f, strict=True)) for a, f in zip(cands.spans, cands.features, strict=True)}
    first = row[0]
    assert first["named"] == 1.0 and first["retrieval"] == 1.0 and first["position"] == 0.0
    assert first["number_asked"] == 1.0  # "how much" and a sentence with a number
    assert first["similarity_gap"] == 0.0 and all(r["similarity_gap"] <= 0.0 for r in row.values())
    assert first["overlap"] > max(r["overlap"] for s, r in row.items() if s != 0)
    assert row[bodies["sn"].index("The Dodgers")]["number_asked"] == 0.0


def test_an_article_that_never_names_the_questions_subject_is_not_quoted_when_another_does():
    hits = [hit("weather", 3.0), hit("sport", 2.0), hit("gm", 1.0)]
    embedder = BagOfWordsEmbedder()
    # the weather article shares "schools" and "closed"; only the GM article names GM
    quotes = select_quotes("Why were GM schools closed?", hits, BODIES, embedder=embedder)
    assert quotes and {q.article_id for q in quotes} == {"gm"}
    # a name no retrieved article holds says nothing about which article is on the subject: all stay quotable
    quotes = select_quotes("Why were Ford schools closed?", hits, BODIES, embedder=embedder)
    assert "weather" in {q.article_id for q in quotes}
