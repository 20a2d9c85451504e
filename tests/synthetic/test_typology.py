"""The designed typology the family writes beside its data."""

from __future__ import annotations

from pathlib import Path

import pytest

from mbert_eval.errors import DataError
from mbert_eval.synthetic.family import SynthConfig, generate_family
from mbert_eval.synthetic.typology import SYNTAX_FEATURES, TYPOLOGY_FILE, read_typology


def test_the_family_writes_what_its_generator_varies(tmp_path: Path) -> None:
    config = SynthConfig(n_languages=7, n_monolingual=5, n_train=4, n_dev=2, n_test=2, n_parallel=2)
    family = generate_family(tmp_path, config, reuse=False)
    typology = read_typology(family.root)
    assert set(typology["languages"]) == {language.code for language in family.languages}
    assert "synthetic family" in typology["source"]
    for language in family.languages:
        designed = typology["languages"][language.code]
        assert designed["script"] == language.script
        on = {name for name, value in zip(SYNTAX_FEATURES, designed["syntax"]) if value}
        assert on == {
            f"S_{language.clause_order}",
            f"S_ADJECTIVE_{language.adjective_position.upper()}_NOUN",
            f"S_{language.adposition.upper()}S",
        }
    assert TYPOLOGY_FILE in family.checksums


def test_a_damaged_typology_is_named(tmp_path: Path) -> None:
    (tmp_path / TYPOLOGY_FILE).write_text('{"syntax_features": ["a"], "languages": {"qaa": {"syntax": []}}}')
    with pytest.raises(DataError, match="not a designed typology"):
        read_typology(tmp_path)
    with pytest.raises(DataError, match="no designed typology"):
        read_typology(tmp_path / "elsewhere")
