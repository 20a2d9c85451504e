"""QA exact match and F1 show the known behaviours of the official SQuAD v1.1 and MLQA evaluation scripts."""

import string

import pytest

from mbert_eval.metrics import METRICS, qa_scores
from mbert_eval.metrics.squad import answer_tokens, normalize_answer


def scores(prediction: str, golds: list[str], language: str = "en", style: str = "squad") -> dict[str, float]:
    """qa_scores of one question."""
    return qa_scores({"q": prediction}, {"q": golds}, language, style)


def test_squad_style_drops_case_punctuation_and_english_articles() -> None:
    assert scores("The Denver Broncos", ["Denver Broncos"]) == {"exact_match": 1.0, "f1": 1.0}
    assert normalize_answer("  The  Denver-Broncos, an NFL team!") == "denverbroncos nfl team"
    assert normalize_answer("theatre a") == "theatre"  # articles are whole words only


def test_squad_style_ignores_the_language_and_keeps_unicode_punctuation() -> None:
    assert scores("der Hund", ["Hund"], language="de")["exact_match"] == 0.0
    assert normalize_answer("«hola»", "es") == "«hola»"
    assert normalize_answer("¿Qué?") == "¿qué"


@pytest.mark.parametrize(
    ("language", "prediction", "gold"),
    [
        ("en", "the cat", "cat"),
        ("es", "el gato", "gato"),
        ("es", "Las casas", "casas"),
        ("de", "der Hund", "Hund"),
        ("de", "Die Katze eines Mannes", "Katze Mannes"),
        ("vi", "của tôi", "tôi"),
        ("ar", "البيت", "بيت"),
    ],
)
def test_mlqa_style_drops_each_languages_articles(language: str, prediction: str, gold: str) -> None:
    assert scores(prediction, [gold], language, "mlqa") == {"exact_match": 1.0, "f1": 1.0}


def test_mlqa_articles_are_whole_words_and_per_language() -> None:
    assert normalize_answer("dieser Hund", "de", "mlqa") == "dieser hund"
    assert normalize_answer("el gato", "de", "mlqa") == "el gato"
    assert normalize_answer("a भारत", "hi", "mlqa") == "a भारत"
    assert normalize_answer("the 北京", "zh", "mlqa") == "the 北 京"


def test_mlqa_arabic_rule_replaces_every_al() -> None:
    # mlqa_evaluation_v1.py: re.sub('\sال^|ال', ' ', text); the first branch never matches
    assert normalize_answer("في البيت", "ar", "mlqa") == "في بيت"
    assert normalize_answer("مال", "ar", "mlqa") == "م"


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("¿Qué?", "es", "qué"),
        ("«hola»", "es", "hola"),
        ("北京。", "zh", "北 京"),
        ("भारत।", "hi", "भारत"),
        ("‘quoted’ $5", "en", "quoted 5"),  # Unicode P* plus string.punctuation ($ is a symbol, Sc)
    ],
)
def test_mlqa_style_drops_unicode_punctuation(text: str, language: str, expected: str) -> None:
    assert normalize_answer(text, language, "mlqa") == expected


def test_mlqa_chinese_mixed_segmentation() -> None:
    assert answer_tokens("iPhone手机 很好", "zh", "mlqa") == ["iphone", "手", "机", "很", "好"]
    assert scores("北京大学", ["北京"], "zh", "mlqa") == pytest.approx({"exact_match": 0.0, "f1": 2 / 3})
    assert scores("北京大学", ["北京"], "zh", "squad")["f1"] == 0.0  # one whitespace token under SQuAD's rules


def test_f1_is_the_maximum_over_golds() -> None:
    # vs "broncos": P 1/2, R 1 -> 2/3; vs "denver broncos team": P 1, R 2/3 -> 4/5
    assert scores("Denver Broncos", ["Broncos", "Denver Broncos team"]) == pytest.approx(
        {"exact_match": 0.0, "f1": 0.8}
    )
    assert scores("Broncos", ["Denver Broncos", "broncos"])["exact_match"] == 1.0


def test_empty_prediction_scores_zero_and_empty_normal_forms_match_exactly() -> None:
    assert scores("", ["Paris"]) == {"exact_match": 0.0, "f1": 0.0}
    assert scores("the", ["a"]) == {"exact_match": 1.0, "f1": 0.0}  # both scripts: "" == "", but no shared token


def test_scores_average_over_questions() -> None:
    result = qa_scores({"a": "Paris", "b": "in Berlin"}, {"a": ["Paris"], "b": ["Berlin"]}, "en", "squad")
    assert result == pytest.approx({"exact_match": 0.5, "f1": (1 + 2 / 3) / 2})


@pytest.mark.parametrize(
    ("predictions", "golds", "language", "style", "message"),
    [
        ({"a": "x"}, {"a": ["x"], "b": ["y"]}, "en", "squad", r"1 without a prediction \(e.g. \['b'\]\)"),
        ({"a": "x", "c": "z"}, {"a": ["x"]}, "en", "squad", r"1 not in the golds \(e.g. \['c'\]\)"),
        ({}, {}, "en", "squad", "empty set"),
        ({"a": "x"}, {"a": []}, "en", "squad", "question 'a' has no gold answers"),
        ({"a": "x"}, {"a": ["x"]}, "en", "xquad", "unknown QA normalization style 'xquad'"),
        (
            {"a": "x"},
            {"a": ["x"]},
            "fr",
            "mlqa",
            "the mlqa style knows the languages ar, de, en, es, hi, vi, zh, not 'fr'",
        ),
    ],
)
def test_refusals(predictions: dict, golds: dict, language: str, style: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        qa_scores(predictions, golds, language, style)


def test_mlqa_punctuation_includes_ascii_and_registered_metric() -> None:
    assert normalize_answer(string.punctuation + "x", "en", "mlqa") == "x"
    assert METRICS.get("qa_scores") is qa_scores
    with pytest.raises(ValueError, match="not None"):
        normalize_answer("x", None, "mlqa")
