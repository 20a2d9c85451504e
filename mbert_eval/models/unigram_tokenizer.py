"""A Hugging Face fast tokenizer from a SentencePiece Unigram vocabulary and a per-codepoint normalization map,
as XLM-R's tokenizer (Conneau et al. 2020; Kudo & Richardson 2018) works: normalize, collapse runs of spaces,
Metaspace (`▁` before every word), Unigram Viterbi segmentation, `<s> A </s>` and `<s> A </s></s> B </s>`.

SentencePiece's `nmt_nfkc` normalization is NFKC with exceptions; the bundle stores it codepoint by codepoint.
It becomes: remove the codepoints the map deletes (control characters), turn the ones it maps to a space (tabs,
line breaks, zero-width characters, `▁` itself) into spaces, apply every other explicit entry, protect the
codepoints the map leaves alone although NFKC would change them (the fullwidth tilde `～`, and characters newer
than the map's Unicode version), then NFKC and the space collapse. Known differences from the original tokenizer,
measured in `tests/models/test_importer.py`: NFKC here reorders and composes combining sequences as a whole (the
original normalizes codepoint by codepoint, so e.g. Arabic shadda + tanwin keep their written order there), and
text that itself contains the private-use placeholders `U+F0000…` reads them as the protected characters.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import numpy as np

SPECIAL_TOKENS = {"bos": "<s>", "pad": "<pad>", "eos": "</s>", "unk": "<unk>", "mask": "<mask>"}
METASPACE = "\u2581"
PLACEHOLDER_BASE = 0xF0000  # supplementary private-use plane A: NFKC leaves it alone


def _character_class(codepoints: list[int]) -> str:
    return "[" + "".join(re.escape(chr(c)) for c in sorted(codepoints)) + "]"


def normalization_steps(mapping: dict[int, str]) -> list[dict]:
    """The normalizer steps (tokenizers JSON) that reproduce a per-codepoint map on top of NFKC."""
    removed, spaced, other = [], [], {}
    for codepoint, replacement in mapping.items():
        if replacement == unicodedata.normalize("NFKC", chr(codepoint)):
            continue
        if replacement == "":
            removed.append(codepoint)
        elif replacement == " ":
            spaced.append(codepoint)
        else:
            other[codepoint] = replacement
    kept = [
        c
        for c in range(0x110000)
        if c not in mapping and not 0xD800 <= c < 0xE000 and unicodedata.normalize("NFKC", chr(c)) != chr(c)
    ]
    steps: list[dict] = []
    if removed:
        steps.append(_replace(_character_class(removed), "", regex=True))
    if spaced:
        steps.append(_replace(_character_class(spaced), " ", regex=True))
    steps += [_replace(chr(c), text) for c, text in sorted(other.items())]
    steps += [_replace(chr(c), chr(PLACEHOLDER_BASE + i)) for i, c in enumerate(kept)]
    steps.append({"type": "NFKC"})
    steps += [_replace(chr(PLACEHOLDER_BASE + i), chr(c)) for i, c in enumerate(kept)]
    steps.append(_replace(" {2,}", " ", regex=True))
    return steps


def _replace(pattern: str, content: str, regex: bool = False) -> dict:
    return {"type": "Replace", "pattern": {"Regex" if regex else "String": pattern}, "content": content}


def unigram_tokenizer_json(pieces: list[str], scores: np.ndarray, mapping: dict[int, str], unk_id: int) -> dict:
    """The `tokenizer.json` of an XLM-R-style Unigram tokenizer over `pieces` (in id order) and their scores."""
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
        "normalizer": {"type": "Sequence", "normalizers": normalization_steps(mapping)},
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
