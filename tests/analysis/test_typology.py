"""Typological distances: URIEL's for real languages (lang2vec's data, offline), the designed ones for the family."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mbert_eval.analysis.typology import DISTANCES, cosine_distance, distances, uriel_vector
from mbert_eval.errors import UserError
from mbert_eval.synthetic.family import SynthConfig, generate_family


def test_german_is_syntactically_closer_to_english_than_japanese_is() -> None:
    german, japanese = distances("en", "de"), distances("en", "ja")
    assert set(german) == {*DISTANCES, "script_match"}
    assert german["syntactic"] < japanese["syntactic"]
    assert german["genetic"] < japanese["genetic"] == pytest.approx(1.0)  # no shared family or branch
    assert german["geographic"] < japanese["geographic"]
    assert (german["script_match"], japanese["script_match"]) == (1.0, 0.0)
    assert all(0.0 <= value <= 1.0 for value in german.values())


def test_a_language_is_at_distance_zero_from_itself_and_distances_are_symmetric() -> None:
    assert all(
        value == pytest.approx(0.0, abs=1e-9) for key, value in distances("fr", "fr").items() if key in DISTANCES
    )
    there, back = distances("ru", "hi"), distances("hi", "ru")
    assert all(there[key] == pytest.approx(back[key]) for key in DISTANCES)


def test_the_vectors_are_uriel_feature_sets_by_iso_639_3() -> None:
    assert uriel_vector("en", "syntactic").shape == (103,)  # syntax_knn: URIEL's 103 S_ features
    assert uriel_vector("eng", "featural").shape[0] == sum(uriel_vector("en", d).shape[0] for d in DISTANCES[:5])


def test_cosine_distance_skips_what_either_vector_does_not_know() -> None:
    assert cosine_distance(np.array([1.0, 0.0, -1.0]), np.array([1.0, -1.0, 5.0])) == pytest.approx(0.0)
    assert cosine_distance(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(1.0)
    assert cosine_distance(np.array([-1.0]), np.array([1.0])) is None


def test_an_isolate_is_at_the_largest_genetic_distance_from_every_other_language() -> None:
    """Basque belongs to none of Glottolog's families or branches: its genetic vector is all zeros. It shares no
    lineage with English (1.0, as Japanese) and is at 0 from itself (before: no distance at all, and Basque left
    out of every genetic correlation)."""
    assert distances("en", "eu")["genetic"] == pytest.approx(1.0) == distances("ja", "eu")["genetic"]
    assert distances("eu", "eu")["genetic"] == pytest.approx(0.0)
    assert cosine_distance(np.array([0.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(1.0)


def test_synthetic_languages_read_their_designed_word_order(tmp_path: Path) -> None:
    config = SynthConfig(n_languages=7, n_monolingual=5, n_train=4, n_dev=2, n_test=2, n_parallel=2)
    family = generate_family(tmp_path, config)
    base = family.base
    for language in family.languages[1:]:
        differing = sum(
            getattr(language, field) != getattr(base, field)
            for field in ("clause_order", "adjective_position", "adposition")
        )
        designed = distances(base.code, language.code, family.root)
        assert designed["syntactic"] == pytest.approx(differing / 3)
        assert designed["script_match"] == float(language.script == base.script)
        assert designed["genetic"] is None  # not designed: one grammar for the whole family
    with pytest.raises(UserError, match="name the family folder"):
        distances("qaa", "qab")
    with pytest.raises(UserError, match="real and a synthetic"):
        distances("en", "qab", family.root)
    with pytest.raises(UserError, match="has no language qaz"):
        distances("qaa", "qaz", family.root)


def test_the_data_is_found_when_lang2vec_script_shadows_the_package(tmp_path, monkeypatch):
    """The wheel installs a `lang2vec.py` script; under `mbert-eval` the scripts' folder leads sys.path and that
    module shadows the package: the data is still found (through the installed distribution)."""
    import sys

    from mbert_eval.analysis import typology

    (tmp_path / "lang2vec.py").write_text("raise SystemExit('a script, not the package')\n", encoding="utf-8")
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    assert (typology._data_folder() / "features.npz").is_file()
