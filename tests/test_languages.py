"""Tests for the language table (mbert_eval/language_table/languages.tsv) and its lookup API in mbert_eval.languages."""

import re
from importlib.resources import files

import pytest

from mbert_eval.errors import UserError
from mbert_eval.languages import (
    BENCHMARKS,
    COLUMNS,
    TABLE_FILE,
    TABLE_PACKAGE,
    Language,
    UnknownLanguageError,
    all_languages,
    close_matches,
    format_table,
    languages_for_task,
    lookup,
)

XTREME = set(
    "af ar bg bn de el en es et eu fa fi fr he hi hu id it ja jv ka kk ko ml mr ms my nl pt ru sw ta te th tl tr "
    "ur vi yo zh".split()
)
PUD = set("ar cs de en es fi fr gl hi id is it ja ko pl pt ru sv th tr zh".split())
COVERAGE = {
    "xnli": "ar bg de el en es fr hi ru sw th tr ur vi zh",
    "pawsx": "de en es fr ja ko zh",
    "xquad": "ar de el en es hi ru th tr vi zh",
    "mlqa": "ar de en es hi vi zh",
    "tydiqa": "ar bn en fi id ko ru sw te",
    "bucc": "de en fr ru zh",
    "tatoeba": "af ar bg bn de el es et eu fa fi fr he hi hu id it ja jv ka kk ko ml mr nl pt ru sw ta te th tl tr "
    "ur vi zh",
    "udpos": "af ar bg de el en es et eu fa fi fr he hi hu id it ja kk ko mr nl pt ru ta te th tl tr ur vi yo zh",
}


def codes(languages: list[Language]) -> set[str]:
    return {lang.code for lang in languages}


def test_table_covers_xtreme_and_pud() -> None:
    assert len(XTREME) == 40
    assert XTREME | PUD <= codes(all_languages())


def test_rows_are_well_formed() -> None:
    for lang in all_languages():
        assert re.fullmatch(r"[a-z]{3}", lang.iso639_3), lang
        assert lang.iso639_1 is None or re.fullmatch(r"[a-z]{2}", lang.iso639_1), lang
        assert lang.code == (lang.iso639_1 or lang.iso639_3), lang
        assert re.fullmatch(r"[A-Z][a-z]{3}", lang.script), lang
        assert lang.name and lang.family and lang.genus, lang
        assert set(lang.tasks) <= set(BENCHMARKS) and len(set(lang.tasks)) == len(lang.tasks), lang


def test_codes_unique_and_sorted() -> None:
    table = [lang.code for lang in all_languages()]
    assert table == sorted(set(table))
    assert len({lang.iso639_3 for lang in all_languages()}) == len(table)


def test_lookup_accepts_every_spelling() -> None:
    german = lookup("de")
    assert german.name == "German" and german.iso639_3 == "deu"
    for spelling in ("deu", "German", "GERMAN", "  De ", "\tdeu\n"):
        assert lookup(spelling) == german
    for lang in all_languages():
        assert lookup(lang.iso639_3) is lang and lookup(lang.name.upper()) is lang


def test_lookup_gives_the_code_every_row_uses() -> None:
    assert lookup("deu").code == "de" and lookup("Chinese").code == "zh" and lookup("qab").code == "qab"


def test_synthetic_codes() -> None:
    synthetic = lookup(" QAB ")
    assert synthetic == Language("qab", None, "qab", "Synthetic qab", "Qaaa", "Synthetic", "Synthetic", ())
    assert synthetic.is_synthetic and not lookup("en").is_synthetic
    assert lookup("qaa").code == "qaa" and lookup("qtz").code == "qtz"


@pytest.mark.parametrize("code", ["qzz", "qua", "ger", "xx", ""])
def test_unknown_codes_raise_one_line_user_error(code: str) -> None:
    with pytest.raises(UnknownLanguageError) as info:
        lookup(code)
    assert isinstance(info.value, UserError)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"unknown language {code!r}")


@pytest.mark.parametrize("typo", ["ger", "Germn", "deutsch"])
def test_unknown_code_suggests_close_matches(typo: str) -> None:
    with pytest.raises(UnknownLanguageError) as info:
        lookup(typo)
    assert "did you mean: " in str(info.value) and "de (German)" in str(info.value)
    assert "de" in info.value.suggestions


def test_close_matches_returns_table_codes() -> None:
    assert close_matches("Germn")[0] == "de"
    assert close_matches("spanesh")[0] == "es"
    assert len(close_matches("a", n=2)) <= 2
    assert close_matches("zzzzzzzz") == []


@pytest.mark.parametrize("task", sorted(COVERAGE))
def test_benchmark_coverage_matches_xtreme(task: str) -> None:
    assert codes(languages_for_task(task)) == set(COVERAGE[task].split())


def test_panx_and_pud_coverage() -> None:
    assert codes(languages_for_task("panx")) == XTREME
    assert codes(languages_for_task(" PUD ")) == PUD


def test_unknown_task_is_user_error() -> None:
    with pytest.raises(UserError, match="unknown benchmark 'squad'"):
        languages_for_task("squad")


def test_format_table_lists_every_language() -> None:
    text = format_table(all_languages())
    lines = text.splitlines()
    assert lines[0].split() == ["code", "639-1", "639-3", "name", "script", "family", "genus", "tasks"]
    assert len(lines) == len(all_languages()) + 1
    listed = {line.split()[0] for line in lines[1:]}
    assert listed == codes(all_languages())
    name_column = lines[0].index("name")
    assert all(line[name_column - 2 : name_column] == "  " for line in lines)
    assert not any(line != line.rstrip() for line in lines)


def test_format_table_marks_missing_values() -> None:
    row = format_table([lookup("qab")]).splitlines()[1].split()
    assert row[:3] == ["qab", "-", "qab"] and row[-1] == "-"


def test_table_ships_as_package_data() -> None:
    resource = files(TABLE_PACKAGE) / TABLE_FILE
    assert resource.is_file()
    lines = [line for line in resource.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert tuple(lines[0].split("\t")) == COLUMNS
    assert len(lines) - 1 == len(all_languages())
