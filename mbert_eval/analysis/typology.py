"""Typological distances between two languages, after Littell et al. (EACL 2017, "URIEL and lang2vec").

For real languages the vectors are URIEL's, read offline from the data files the `lang2vec` package (1.1.2)
ships; lang2vec 1.1.2's own module imports `pkg_resources`, which setuptools 81 removed, so its `.npz` files are
read here with numpy, by the same (file, source, feature prefix) table as its `get_features`. Each distance is
the cosine distance between the two languages' vectors (Littell et al. 2017, section 3; Lauscher et al. 2020
use the same distances to explain zero-shot transfer):

    syntactic     syntax_knn      103 WALS/SSWL/Ethnologue syntax features, gaps filled by k-NN prediction
    phonological  phonology_knn   28 phonology features, k-NN filled
    inventory     inventory_knn   158 phoneme inventory features (PHOIBLE), k-NN filled
    genetic       fam             membership in each of 3,718 Glottolog families and branches
    geographic    geo             distances to 299 fixed points on the globe
    featural      all five above, concatenated

For the synthetic family (codes qaa-qtz), which URIEL lacks, the syntactic distance is read from the family's
designed typology (`typology.json`, synthetic/typology.py): the share of the designed word-order parameters that
differ; the other distances are not designed and stay None. Script match compares ISO 15924 codes: the language
table's for real languages, the designed ones for synthetic languages.
"""

from __future__ import annotations

from functools import cache
from importlib import metadata
from pathlib import Path

import numpy as np

from mbert_eval.errors import UserError
from mbert_eval.languages import lookup
from mbert_eval.synthetic.typology import read_typology

SOURCE = "URIEL (Littell et al. 2017), from the data of lang2vec 1.1.2, offline"
DISTANCES = ("syntactic", "phonological", "inventory", "genetic", "geographic", "featural")
# lang2vec's feature sets used here: (file in lang2vec/data, source, feature-name prefix), as in its FEATURE_SETS_DICT
LANG2VEC_SETS = {
    "syntax_knn": ("feature_predictions.npz", "predicted", "S_"),
    "phonology_knn": ("feature_predictions.npz", "predicted", "P_"),
    "inventory_knn": ("feature_predictions.npz", "predicted", "INV_"),
    "fam": ("family_features.npz", "FAM", ""),
    "geo": ("geocoord_features.npz", "GEOCOORDS", ""),
}
FEATURE_SETS = {
    "syntactic": ("syntax_knn",),
    "phonological": ("phonology_knn",),
    "inventory": ("inventory_knn",),
    "genetic": ("fam",),
    "geographic": ("geo",),
    "featural": tuple(LANG2VEC_SETS),
}
MISSING = -1.0  # URIEL's value for a feature it does not know


def _data_folder() -> Path:
    """lang2vec's data folder, found through its installed distribution without importing the package (its
    module needs pkg_resources) and whatever `sys.path` holds first: the wheel also installs a `lang2vec.py`
    script, which shadows the package wherever the scripts' folder leads `sys.path` (under `mbert-eval`)."""
    try:
        folder = Path(str(metadata.distribution("lang2vec").locate_file("lang2vec/data")))
    except metadata.PackageNotFoundError:
        folder = None
    if folder is None or not folder.is_dir():
        raise UserError("typological distances need URIEL's data from the lang2vec package: pip install lang2vec")
    return folder


@cache
def _feature_set(name: str) -> tuple[dict[str, int], np.ndarray]:
    """(language code → row, the rows' feature values) of one lang2vec feature set, read once."""
    filename, source, prefix = LANG2VEC_SETS[name]
    with np.load(_data_folder() / filename) as database:
        columns = [i for i, feature in enumerate(database["feats"]) if str(feature).startswith(prefix)]
        source_index = int(np.flatnonzero(database["sources"] == source)[0])
        values = database["data"][:, columns, source_index].astype(np.float64)
        rows = {str(code): i for i, code in enumerate(database["langs"])}
    return rows, values


def uriel_vector(code: str, distance: str) -> np.ndarray:
    """The URIEL vector behind `distance` (one of DISTANCES) for a language of the table."""
    iso = lookup(code).iso639_3
    parts = []
    for name in FEATURE_SETS[distance]:
        rows, values = _feature_set(name)
        if iso not in rows:
            raise UserError(f"URIEL has no entry for {code} ({iso}) in lang2vec's {name} features")
        parts.append(values[rows[iso]])
    return np.concatenate(parts)


def cosine_distance(a: np.ndarray, b: np.ndarray) -> float | None:
    """1 - cos(a, b) over the features both vectors know (Littell et al. 2017); None when none is known. A vector
    of zeros shares no feature with another (Basque's genetic one: an isolate, in none of Glottolog's families or
    branches): 1.0 from any other vector, 0.0 from an equal one, where the cosine itself is undefined."""
    known = (a != MISSING) & (b != MISSING)
    if not known.any():
        return None
    a, b = a[known], b[known]
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    if norm == 0:
        return 0.0 if np.array_equal(a, b) else 1.0
    return 1.0 - float(a @ b) / norm


def distances(source: str, target: str, family: Path | None = None) -> dict[str, float | None]:
    """Every distance of DISTANCES between two languages, and `script_match` (1.0 or 0.0).

    Real languages use URIEL; synthetic languages (qaa-qtz) the designed typology of the family at `family`
    (syntactic distance and script only; the rest is None). A real and a synthetic language are not compared.
    """
    first, second = lookup(source), lookup(target)
    if first.is_synthetic != second.is_synthetic:
        raise UserError(f"no typological distance between a real and a synthetic language ({source}, {target})")
    if first.is_synthetic:
        return _designed_distances(first.code, second.code, family)
    out: dict[str, float | None] = {
        distance: cosine_distance(uriel_vector(first.code, distance), uriel_vector(second.code, distance))
        for distance in DISTANCES
    }
    out["script_match"] = float(first.script == second.script)
    return out


def _designed_distances(source: str, target: str, family: Path | None) -> dict[str, float | None]:
    """The distances the synthetic family's typology.json designs between two of its languages."""
    if family is None:
        raise UserError(f"{source} and {target} are synthetic: name the family folder their typology is read from")
    languages = read_typology(family)["languages"]
    missing = [code for code in (source, target) if code not in languages]
    if missing:
        raise UserError(f"the synthetic family at {family} has no language {', '.join(missing)}")
    first, second = languages[source], languages[target]
    out: dict[str, float | None] = dict.fromkeys(DISTANCES)
    out["syntactic"] = cosine_distance(np.array(first["syntax"], float), np.array(second["syntax"], float))
    out["script_match"] = float(first["script"] == second["script"])
    return out
