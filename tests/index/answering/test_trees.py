import json

import numpy as np
import pytest

from index.answering.candidates import FEATURES
from index.answering.ranker import MODEL_PATH, load_quote_models, quote_models
from index.answering.trees import ModelFileError, TreeEnsemble, tree_dict

# x0 <= 0.5 ? (x1 <= 2 ? 1.0 : 2.0) : -1.0     and a one-leaf tree worth 0.25
STUMPS = tree_dict(
    ["a", "b"],
    0.5,
    [
        {
            "feature": [0, 1, -1, -1, -1],
            "threshold": [0.5, 2.0, 0, 0, 0],
            "left": [1, 3, 0, 0, 0],
            "right": [2, 4, 0, 0, 0],
            "value": [0, 0, -1.0, 1.0, 2.0],
        },
        {"feature": [-1], "threshold": [0], "left": [0], "right": [0], "value": [0.25]},
    ],
    depth=2,
)


def test_each_sample_reaches_its_leaf_in_every_tree():
    model = TreeEnsemble.from_dict(STUMPS)
    x = np.array([[0.0, 1.0], [0.5, 2.0], [0.2, 3.0], [0.9, 0.0]])
    assert model.margin(x).tolist() == [1.75, 1.75, 2.75, -0.25]


def test_a_sample_with_the_wrong_number_of_features_is_refused():
    with pytest.raises(ValueError, match="expected 2 features"):
        TreeEnsemble.from_dict(STUMPS).margin(np.zeros((1, 3)))


@pytest.mark.parametrize(
    "broken",
    [
        {"features": ["a"], "baseline": 0.0},  # no trees key
        {**STUMPS, "trees": []},
        {**STUMPS, "features": ["a"]},  # tree uses feature 1
        {**STUMPS, "trees": [{**STUMPS["trees"][0], "left": [9, 3, 0, 0, 0]}]},
    ],
)
def test_malformed_models_are_refused_with_a_named_error(broken):
    with pytest.raises(ModelFileError):
        TreeEnsemble.from_dict(broken)


def test_an_unreadable_or_mismatched_quote_model_file_is_a_named_error(tmp_path):
    path = tmp_path / "model.json"
    about = json.loads(MODEL_PATH.read_text(encoding="utf-8"))["about"]
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelFileError, match="cannot be read"):
        load_quote_models(path)
    path.write_text(json.dumps({"ranker": STUMPS, "answerability": STUMPS}), encoding="utf-8")
    with pytest.raises(ModelFileError, match="no about block"):
        load_quote_models(path)
    path.write_text(json.dumps({"about": about, "ranker": STUMPS}), encoding="utf-8")
    with pytest.raises(ModelFileError, match="lacks the answerability model"):
        load_quote_models(path)
    path.write_text(json.dumps({"about": about, "ranker": STUMPS, "answerability": STUMPS}), encoding="utf-8")
    with pytest.raises(ModelFileError, match="other features"):
        load_quote_models(path)


@pytest.mark.parametrize("name", ["ranker", "answerability"])
def test_the_shipped_quote_models_read_the_features_quotes_compute(name):
    model = getattr(quote_models(), name)
    assert model.features == FEATURES
    about = json.loads(MODEL_PATH.read_text(encoding="utf-8"))[name]["about"]
    assert about["fitted_by"] == "scripts/fit_quote_model.py"
    # More similar, more overlapping sentences of the top hit are more likely to answer.
    row = dict.fromkeys(FEATURES, 0.0) | {
        "retrieval": 1.0,
        "hit_score": 1.0,
        "length": np.log(150),
        "question_terms": 2.0,
    }
    weak = np.array([[row[f] for f in FEATURES]])
    strong = np.array(
        [
            [
                (row | {"similarity": 0.8, "overlap": 1.0, "clause_similarity": 0.8, "clause_overlap": 1.0})[f]
                for f in FEATURES
            ]
        ]
    )
    assert model.margin(strong)[0] > model.margin(weak)[0]
