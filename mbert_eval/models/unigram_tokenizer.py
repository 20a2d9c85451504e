"""A Hugging Face fast tokenizer from a SentencePiece Unigram vocabulary and a per-codepoint normalization map,
as XLM-R's tokenizer (Conneau et al. 2020; Kudo & Richardson 2018) works: normalize, collapse runs of spaces,
Metaspace (`▁` before every word), Unigram Viterbi segmentation, `<s> A </s>` and `<s> A </s></s> B </s>`.

Normalization is SentencePiece's `nmt_nfkc` (NFKC with exceptions), as the original tokenizer's `Precompiled`
step holds it: the compiled rules that the installed sentencepiece library builds (`nmt_nfkc_charsmap`), which
map whole combining sequences as the original does (Arabic shadda + vowel, Devanagari nukta). The library is of a
newer Unicode than XLM-R's map, which the bundle stores codepoint by codepoint; where the two differ for a single
codepoint (characters Unicode added since, and the zero-width joiner), the bundle's map wins (`normalization_steps`).
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

SPECIAL_TOKENS = {"bos": "<s>", "pad": "<pad>", "eos": "</s>", "unk": "<unk>", "mask": "<mask>"}
METASPACE = "\u2581"
UNKNOWN_STAND_IN = "\U000f0000"  # supplementary private-use plane A: in no vocabulary, left alone by nmt_nfkc
SURROGATES = range(0xD800, 0xE000)


def nmt_nfkc_charsmap() -> bytes:
    """SentencePiece's compiled `nmt_nfkc` normalization rules (its `precompiled_charsmap`), as the installed
    library builds them: read from the model proto of a throwaway character model trained in memory (the
    library keeps its rules compiled in and offers no other way to them)."""
    import sentencepiece

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(["a b c"] * 4),
        model_writer=model,
        model_type="char",
        vocab_size=7,
        normalization_rule_name="nmt_nfkc",
        minloglevel=2,
    )
    return precompiled_charsmap(model.getvalue())


def precompiled_charsmap(model_proto: bytes) -> bytes:
    """The normalisation map (``ModelProto.normalizer_spec.precompiled_charsmap``, fields 3 then 2) of a
    serialized SentencePiece model."""
    normalizer_spec = next(value for number, value in _proto_fields(model_proto) if number == 3)
    return next(value for number, value in _proto_fields(normalizer_spec) if number == 2)


def _proto_fields(message: bytes) -> Iterator[tuple[int, bytes | int]]:
    """Yield ``(field number, value)`` for each field of a serialized protobuf message (wire format)."""
    position = 0
    while position < len(message):
        tag, position = _varint(message, position)
        number, wire_type = tag >> 3, tag & 7
        if wire_type == 0:
            value, position = _varint(message, position)
            yield number, value
        elif wire_type == 2:
            length, position = _varint(message, position)
            yield number, message[position : position + length]
            position += length
        else:  # fixed 64-bit (1) or 32-bit (5)
            width = 8 if wire_type == 1 else 4
            yield number, message[position : position + width]
            position += width


def _varint(message: bytes, position: int) -> tuple[int, int]:
    """Decode the protobuf varint at ``position``; return it and the position after it."""
    value, shift = 0, 0
    while True:
        byte = message[position]
        position += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, position


def normalization_steps(mapping: dict[int, str], pieces: list[str], charsmap: bytes) -> list[dict]:
    """The normalizer steps (tokenizers JSON): the compiled `nmt_nfkc` rules, the bundle's per-codepoint `mapping`
    winning where it differs from them for a codepoint (the codepoints it leaves alone are absent from it). Such a
    codepoint that the rules change but the map leaves alone is in no piece of the vocabulary, so the original
    reads it as unknown: it becomes `UNKNOWN_STAND_IN`, unknown too, before the rules see it (one step for all)."""
    from tokenizers.normalizers import Precompiled

    rules = Precompiled(list(charsmap))
    mapped: dict[int, str] = {}
    unknown: list[int] = []
    for codepoint in range(0x110000):
        if codepoint in SURROGATES:
            continue
        wanted = mapping.get(codepoint, chr(codepoint))
        if rules.normalize_str(chr(codepoint)) == wanted:
            continue
        if wanted != chr(codepoint):
            mapped[codepoint] = wanted
        elif any(chr(codepoint) in piece for piece in pieces):
            raise ValueError(f"U+{codepoint:04X} is in the vocabulary, and the normalization rules change it")
        else:
            unknown.append(codepoint)
    steps = [_replace(chr(c), text) for c, text in sorted(mapped.items())]
    if unknown:
        steps.append(_replace("[" + "".join(re.escape(chr(c)) for c in unknown) + "]", UNKNOWN_STAND_IN, regex=True))
    precompiled = {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(charsmap).decode("ascii")}
    return [*steps, precompiled, _replace(" {2,}", " ", regex=True)]


def _replace(pattern: str, content: str, regex: bool = False) -> dict:
    return {"type": "Replace", "pattern": {"Regex" if regex else "String": pattern}, "content": content}


def unigram_tokenizer_json(pieces: list[str], scores: np.ndarray, mapping: dict[int, str], unk_id: int) -> dict:
    """The `tokenizer.json` of an XLM-R-style Unigram tokenizer over `pieces` (in id order) and their scores, its
    normalization the `nmt_nfkc` rules under the per-codepoint `mapping`."""
    ids = {token: pieces.index(token) for token in SPECIAL_TOKENS.values()}
    metaspace = {"type": "Metaspace", "replacement": METASPACE, "prepend_scheme": "always", "split": True}
    bos, eos = SPECIAL_TOKENS["bos"], SPECIAL_TOKENS["eos"]

    def special(token: str) -> dict:
        return {"SpecialToken": {"id": token, "type_id": 0}}

    def sequence(name: str) -> dict:
        return {"Sequence": {"id": name, "type_id": 0}}

    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {
                "id": ids[token],
                "content": token,
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": False,
                "special": True,
            }
            for token in sorted(ids, key=ids.get)
        ],
        "normalizer": {"type": "Sequence", "normalizers": normalization_steps(mapping, pieces, nmt_nfkc_charsmap())},
        "pre_tokenizer": metaspace,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [special(bos), sequence("A"), special(eos)],
            "pair": [special(bos), sequence("A"), special(eos), special(eos), sequence("B"), special(eos)],
            "special_tokens": {token: {"id": token, "ids": [ids[token]], "tokens": [token]} for token in (bos, eos)},
        },
        "decoder": metaspace,
        "model": {
            "type": "Unigram",
            "unk_id": unk_id,
            "byte_fallback": False,
            "vocab": [[piece, float(score)] for piece, score in zip(pieces, scores)],
        },
    }


def write_tokenizer(folder: Path, tokenizer_json: dict, max_length: int) -> None:
    """`tokenizer.json` plus the configs with which `AutoTokenizer` loads it unchanged (a fast tokenizer)."""
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer_json, ensure_ascii=False), encoding="utf-8")
    names = {"bos": "bos_token", "eos": "eos_token", "unk": "unk_token", "pad": "pad_token", "mask": "mask_token"}
    config = {names[role]: token for role, token in SPECIAL_TOKENS.items()}
    config.update(
        {
            "cls_token": SPECIAL_TOKENS["bos"],
            "sep_token": SPECIAL_TOKENS["eos"],
            # the generic class keeps tokenizer.json as written; XLMRobertaTokenizer would rebuild its own normalizer
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": max_length,
            "model_input_names": ["input_ids", "attention_mask"],
        }
    )
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    (folder / "special_tokens_map.json").write_text(
        json.dumps({k: v for k, v in config.items() if k.endswith("_token")}, indent=2) + "\n", encoding="utf-8"
    )
