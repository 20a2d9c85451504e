"""The designed typology of the synthetic family, written beside its data as `typology.json`.

URIEL (Littell et al., EACL 2017) describes real languages by binary features such as "subject before verb";
the family's languages have no URIEL entry, but their differences are designed, so the generator states them in
the same form. What the generator varies (grammar.py, family.py), and so what this file holds per language:

- word order: clause order (SVO, SOV, VSO), adjective before or after the noun, prepositions or postpositions,
  as one-hot `syntax` features whose cosine distance is the share of the three parameters that differ;
- script (ISO 15924): Latn, Cyrl, Grek, or Qaaa (Latin letters shifted into the Armenian block);
- lexicon: every language draws its own words from its script's letters (`build_lexicon`, its own random
  stream), so two languages share no word but the punctuation "," and "." - whatever their script.

Everything else (the grammar, its constructions and their frequencies) is shared by all members.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mbert_eval.errors import DataError
from mbert_eval.synthetic.grammar import SyntheticLanguage

TYPOLOGY_FILE = "typology.json"
CLAUSE_ORDERS = ("SVO", "SOV", "VSO")
ADJECTIVE_POSITIONS = ("before", "after")
ADPOSITIONS = ("preposition", "postposition")
SYNTAX_FEATURES = (
    *(f"S_{order}" for order in CLAUSE_ORDERS),
    *(f"S_ADJECTIVE_{position.upper()}_NOUN" for position in ADJECTIVE_POSITIONS),
    *(f"S_{adposition.upper()}S" for adposition in ADPOSITIONS),
)
LEXICON = "its own words, drawn from its script's letters; shares only the punctuation ',' and '.'"


def syntax_vector(language: SyntheticLanguage) -> list[int]:
    """The one-hot word-order features of `language`, in SYNTAX_FEATURES order (URIEL's S_ features in form)."""
    return [
        *(int(language.clause_order == order) for order in CLAUSE_ORDERS),
        *(int(language.adjective_position == position) for position in ADJECTIVE_POSITIONS),
        *(int(language.adposition == adposition) for adposition in ADPOSITIONS),
    ]


def typology_json(languages: list[SyntheticLanguage], generator: str) -> str:
    """The text of `typology.json`: per language its script, lexicon and word-order features."""
    record = {
        "source": f"designed by the generator ({generator})",
        "syntax_features": list(SYNTAX_FEATURES),
        "languages": {
            language.code: {"script": language.script, "lexicon": LEXICON, "syntax": syntax_vector(language)}
            for language in languages
        },
    }
    return json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def read_typology(root: Path) -> dict[str, Any]:
    """The designed typology of the family generated under `root` (as `typology_json` wrote it)."""
    path = Path(root) / TYPOLOGY_FILE
    if not path.is_file():
        raise DataError(path, "no designed typology here; generate the family again with `mbert-eval synth`")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        width = len(record["syntax_features"])
        for code, language in record["languages"].items():
            if len(language["syntax"]) != width or not isinstance(language["script"], str):
                raise ValueError(f"language {code}: {width} syntax features and a script expected")
        return record
    except (ValueError, KeyError, TypeError) as error:
        raise DataError(path, f"not a designed typology ({type(error).__name__}: {error})") from None
