"""Extractive QA exact match and token F1, each the maximum over a question's gold answers.

Two normalizations, each reproducing an official script:

- ``squad``: SQuAD v1.1's ``evaluate-v1.1.py`` (Rajpurkar et al. 2016), which XQuAD and TyDiQA-GoldP use in
  XTREME (Hu et al. 2020): lowercase, drop ``string.punctuation``, drop the English articles a/an/the, split on
  whitespace. The language is ignored.
- ``mlqa``: MLQA's ``mlqa_evaluation_v1.py`` (Lewis et al. 2020): lowercase; drop every character whose Unicode
  category starts with P, and ``string.punctuation``; drop the answer language's "articles" (en a/an/the;
  es un/una/unos/unas/el/la/los/las; de ein/eine/einen/einem/eines/einer/der/die/das/den/dem/des; vi của/là/
  cái/chiếc/những, as whole words; hi and zh none; ar: every occurrence of ال, see below); split on whitespace,
  except zh, where each character in U+4E00-U+9FA5 is a token of its own and runs of other characters are split
  on whitespace (its "mixed segmentation").

The script's Arabic rule is ``re.sub('\\sال^|ال', ' ', text)``. Its first branch can never match (``^`` after
three consumed characters), so the rule replaces every ال with a space, inside words as well as the article
prefix; it is reproduced as such. Its Vietnamese words are matched as the script writes them (precomposed,
NFC); text is not Unicode-normalized, as in the script. Like both scripts, exact match compares normalized
strings (two answers that normalize to "" match) while F1 is 0 whenever no token is shared.
"""

from __future__ import annotations

import re
import string
import sys
import unicodedata
from collections import Counter
from functools import lru_cache

STYLES = ("squad", "mlqa")
MLQA_LANGUAGES = ("ar", "de", "en", "es", "hi", "vi", "zh")

_ENGLISH_ARTICLES = re.compile(r"\b(a|an|the)\b")
_MLQA_ARTICLES: dict[str, re.Pattern[str] | None] = {
    "en": _ENGLISH_ARTICLES,
    "es": re.compile(r"\b(un|una|unos|unas|el|la|los|las)\b"),
    "hi": None,
    "vi": re.compile(r"\b(của|là|cái|chiếc|những)\b"),
    "de": re.compile(r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b"),
    "ar": re.compile("ال"),
    "zh": None,
}
_MLQA_CJK = re.compile(r"([\u4e00-\u9fa5])")
_SQUAD_PUNCTUATION = frozenset(string.punctuation)


@lru_cache(maxsize=1)
def _mlqa_punctuation() -> frozenset[str]:
    """MLQA's PUNCT: every character of a Unicode P* category, plus ``string.punctuation``."""
    unicode_punctuation = (chr(i) for i in range(sys.maxunicode) if unicodedata.category(chr(i)).startswith("P"))
    return frozenset(unicode_punctuation) | _SQUAD_PUNCTUATION


def _check_style(language: str | None, style: str) -> None:
    """Raise ValueError for an unknown style, or an mlqa language outside MLQA's seven."""
    if style not in STYLES:
        raise ValueError(f"unknown QA normalization style {style!r}; expected one of {', '.join(STYLES)}")
    if style == "mlqa" and language not in _MLQA_ARTICLES:
        raise ValueError(f"the mlqa style knows the languages {', '.join(MLQA_LANGUAGES)}, not {language!r}")


def answer_tokens(text: str, language: str | None = None, style: str = "squad") -> list[str]:
    """The normalized tokens of an answer under SQuAD v1.1's (Rajpurkar et al. 2016) or MLQA's (Lewis et al.
    2020) rules; see the module docstring."""
    _check_style(language, style)
    text = text.lower()
    if style == "squad":
        text = "".join(char for char in text if char not in _SQUAD_PUNCTUATION)
        return _ENGLISH_ARTICLES.sub(" ", text).split()
    punctuation = _mlqa_punctuation()
    text = "".join(char for char in text if char not in punctuation)
    articles = _MLQA_ARTICLES[language]  # type: ignore[index]  # checked by _check_style
    if articles is not None:
        text = articles.sub(" ", text)
    if language == "zh":
        text = _MLQA_CJK.sub(r" \1 ", text)
    return text.split()


def normalize_answer(text: str, language: str | None = None, style: str = "squad") -> str:
    """An answer normalized as the official scripts do (SQuAD v1.1, Rajpurkar et al. 2016; MLQA, Lewis et al.
    2020): its tokens joined by single spaces."""
    return " ".join(answer_tokens(text, language, style))


def _f1(prediction: list[str], gold: list[str]) -> float:
    """Token F1 of bags of tokens, 0 when they share none (SQuAD v1.1's ``f1_score``)."""
    shared = sum((Counter(prediction) & Counter(gold)).values())
    if shared == 0:
        return 0.0
    precision, recall = shared / len(prediction), shared / len(gold)
    return 2 * precision * recall / (precision + recall)


def qa_scores(predictions: dict[str, str], golds: dict[str, list[str]], language: str, style: str) -> dict[str, float]:
    """Exact match and F1 as fractions in [0, 1], each the maximum over a question's gold answers and averaged
    over the questions: SQuAD v1.1's script (Rajpurkar et al. 2016) with ``style="squad"``, MLQA's
    ``mlqa_evaluation_v1.py`` (Lewis et al. 2020) with ``style="mlqa"`` and the answer `language`.

    Every gold question needs a prediction and every prediction a gold question (the scripts score a missing
    answer 0; here it is refused with ValueError, as is a question without gold answers).
    """
    per_question = question_scores(predictions, golds, language, style)
    exact = f1 = 0.0
    for question_exact, question_f1 in per_question.values():
        exact += question_exact
        f1 += question_f1
    return {"exact_match": exact / len(golds), "f1": f1 / len(golds)}


def question_scores(
    predictions: dict[str, str], golds: dict[str, list[str]], language: str, style: str
) -> dict[str, tuple[float, float]]:
    """Per question (in the order of `golds`), its exact match and F1, each the maximum over its gold answers as
    SQuAD v1.1's script (Rajpurkar et al. 2016) or MLQA's (Lewis et al. 2020) takes it: the values `qa_scores`
    averages. Errors as `qa_scores`'s."""
    _check_style(language, style)
    if not golds:
        raise ValueError("QA scores of an empty set")
    missing, unknown = golds.keys() - predictions.keys(), predictions.keys() - golds.keys()
    if missing or unknown:
        raise ValueError(
            f"predictions and golds name different questions: {len(missing)} without a prediction "
            f"(e.g. {sorted(missing)[:3]}), {len(unknown)} not in the golds (e.g. {sorted(unknown)[:3]})"
        )
    scores = {}
    for question_id, answers in golds.items():
        if not answers:
            raise ValueError(f"question {question_id!r} has no gold answers")
        predicted = answer_tokens(predictions[question_id], language, style)
        gold_tokens = [answer_tokens(answer, language, style) for answer in answers]
        scores[question_id] = (
            max(float(predicted == tokens) for tokens in gold_tokens),
            max(_f1(predicted, tokens) for tokens in gold_tokens),
        )
    return scores
