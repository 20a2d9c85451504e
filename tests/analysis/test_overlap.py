"""Subword overlap of source and target text, checked by hand on a toy tokenizer."""

from __future__ import annotations

from collections import Counter

import pytest

from mbert_eval.analysis.overlap import (
    WORD_BOUNDARY,
    SourceSubwords,
    model_tokenizer,
    subword_counts,
    subword_overlap,
)
from mbert_eval.errors import UserError


def toy_tokenize(word: str) -> list[str]:
    """Two letters, then the rest as one continuation piece; '?' is unknown."""
    if "?" in word:
        return ["[UNK]"]
    return [word[:2]] + ([f"##{word[2:]}"] if len(word) > 2 else [])


def test_type_jaccard_and_token_coverage_by_hand() -> None:
    source = subword_counts([["abcd", "ab"], ["q?"]], toy_tokenize, frozenset({"[UNK]"}))
    target = subword_counts([["abxy", "zz"], ["ab", "x?"]], toy_tokenize, frozenset({"[UNK]"}))
    assert source == {"ab": 2, "##cd": 1}
    assert target == {"ab": 2, "##xy": 1, "zz": 1}
    overlap = subword_overlap(source, target)
    assert overlap.type_jaccard == pytest.approx(1 / 4)  # {ab} of {ab, ##cd, ##xy, zz}
    assert overlap.token_coverage == pytest.approx(2 / 4)  # the two "ab" of four target pieces
    assert (overlap.source_types, overlap.target_types, overlap.shared_types, overlap.target_tokens) == (2, 3, 1, 4)


def test_the_unknown_token_counts_unless_ignored_and_coverage_is_not_symmetric() -> None:
    source = subword_counts([["ab", "?"]], toy_tokenize)
    target = subword_counts([["?", "?", "cd"]], toy_tokenize)
    assert subword_overlap(source, target).token_coverage == pytest.approx(2 / 3)
    assert subword_overlap(target, source).token_coverage == pytest.approx(1 / 2)


def test_an_empty_side_is_refused() -> None:
    with pytest.raises(UserError, match="text on both sides"):
        subword_overlap(subword_counts([], toy_tokenize), subword_counts([["ab"]], toy_tokenize))


def test_a_model_folders_tokenizer_ignores_its_unknown_token(tiny_model) -> None:
    tokenize, ignore = model_tokenizer(tiny_model)
    assert "[UNK]" in ignore
    assert tokenize("bab") and all(isinstance(piece, str) for piece in tokenize("bab"))


def test_sentencepieces_bare_word_boundary_is_no_shared_subword(e5_small) -> None:
    tokenize, ignore = model_tokenizer(e5_small)
    assert WORD_BOUNDARY in tokenize("北京")  # e5 tokenizes a Chinese word alone as the bare boundary, then its pieces
    counts = subword_counts([["北京", "大学"]], tokenize, ignore)
    assert WORD_BOUNDARY not in counts and counts


def test_counting_each_word_type_once_counts_every_occurrence(tiny_model) -> None:
    tokenize, ignore = model_tokenizer(tiny_model)
    sentences = [["bab", "abba", "bab"], ["abba", "b", "bab", "[UNK]"]]
    one_by_one = Counter(p for words in sentences for word in words for p in tokenize(word) if p not in ignore)
    assert subword_counts(sentences, tokenize, ignore) == one_by_one


def test_a_cells_source_text_measures_each_targets_overlap(tiny_model) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    words = sorted(w for w in tokenizer.get_vocab() if w.isalpha() and len(w) > 2)[:6]
    source = SourceSubwords.of(tokenizer, [words[:4]])
    same, half = source.log([words[:4]])["subword_overlap"], source.log([words[2:]])["subword_overlap"]
    assert same["type_jaccard"] == 1 and same["token_coverage"] == 1
    assert half["shared_types"] == 2 and half["token_coverage"] == pytest.approx(0.5)
    assert source.log([[tokenizer.unk_token]]) == {}  # nothing the tokenizer knows: no overlap, no failure
