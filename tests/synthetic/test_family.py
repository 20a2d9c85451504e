"""The synthetic language family: determinism, file formats, gold alignments, scripts, pairs, caching, CLI.
The QA files are tests/synthetic/test_qa.py's."""

import hashlib
import unicodedata
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from mbert_eval.cli import main
from mbert_eval.data import (
    read_conllu,
    read_parallel,
    read_pharaoh,
    read_sentence_pairs,
    read_squad,
)
from mbert_eval.errors import UserError
from mbert_eval.synthetic.family import (
    SPLITS,
    FamilyManifest,
    SynthConfig,
    SyntheticFamily,
    describe_family,
    family_languages,
    generate_family,
    load_manifest,
)
from mbert_eval.synthetic.grammar import meaning
from mbert_eval.synthetic.typology import TYPOLOGY_FILE

SMALL = SynthConfig(
    n_monolingual=60, n_train=40, n_dev=10, n_test=12, n_parallel=50, lexicon_size=30, qa_train=30, qa_dev=8, qa_test=10
)
# SHA-256 of the `path checksum` lines (sorted) of SMALL's files other than qa/, from the generator before QA was
# added (v2): QA draws its own random streams, so adding it changed no other file
BEFORE_QA = "a3cb1e6abc5cab7289636a2e1cbbca161f28919de5556b963b001745599e1f21"
UPOS = {"NOUN", "VERB", "ADJ", "ADP", "DET", "PRON", "ADV", "CCONJ", "NUM", "PUNCT"}
SCRIPT_PREFIX = {"Latn": "LATIN", "Cyrl": "CYRILLIC", "Grek": "GREEK"}


@pytest.fixture(scope="module")
def family(tmp_path_factory: pytest.TempPathFactory) -> FamilyManifest:
    return generate_family(tmp_path_factory.mktemp("family"), SMALL)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_bytes_and_another_seed_differs(family: FamilyManifest, tmp_path: Path) -> None:
    again = generate_family(tmp_path / "again", SMALL)
    assert _files(again.root) == _files(family.root)
    other = _files(generate_family(tmp_path / "other", replace(SMALL, seed=1)).root)
    ours = _files(family.root)
    assert other.keys() == ours.keys()
    assert all(other[name] != ours[name] for name in ours if name.startswith(("mono/", "pos/", "pairs/", "qa/")))


def test_adding_qa_and_the_typology_changed_no_other_file(family: FamilyManifest, tmp_path: Path) -> None:
    def without_qa(checksums: dict[str, str]) -> str:
        added = ("qa/", TYPOLOGY_FILE)
        lines = "".join(f"{name} {sha}\n" for name, sha in sorted(checksums.items()) if not name.startswith(added))
        return hashlib.sha256(lines.encode("utf-8")).hexdigest()

    assert without_qa(family.checksums) == BEFORE_QA
    more_qa = generate_family(tmp_path, replace(SMALL, qa_train=50, qa_dev=20, qa_test=3))
    assert without_qa(more_qa.checksums) == BEFORE_QA
    assert all(more_qa.checksums[name] != family.checksums[name] for name in family.checksums if name.startswith("qa/"))


def test_layout_checksums_and_load_manifest(family: FamilyManifest) -> None:
    assert [lang.code for lang in family.languages] == ["qaa", "qab", "qac", "qad"]
    written = set(_files(family.root)) - {"family.json"}
    assert written == set(family.checksums)
    paths = [family.root / TYPOLOGY_FILE] + [family.mono(lang.code) for lang in family.languages]
    for lang in family.languages:
        paths += [family.pos(lang.code, split) for split in SPLITS]
        paths += [family.pairs(lang.code, split) for split in SPLITS]
        paths += [family.qa(lang.code, split) for split in SPLITS]
    for lang in family.languages[1:]:
        paths += family.parallel(lang.code)
    assert {str(p.relative_to(family.root)) for p in paths} == written
    assert load_manifest(family.root) == family


def test_default_typology_has_a_target_differing_in_script_and_word_order() -> None:
    base, *targets = family_languages(4)
    assert (base.code, base.script, base.clause_order, base.adjective_position, base.adposition) == (
        "qaa",
        "Latn",
        "SVO",
        "before",
        "preposition",
    )
    assert targets[-1].script != base.script and targets[-1].clause_order != base.clause_order
    many = family_languages(26)
    assert [lang.code for lang in many] == [f"qa{chr(ord('a') + i)}" for i in range(26)]
    assert all(lang.script != "Latn" for lang in many[1:])


def test_gold_alignment_follows_each_languages_word_order(family: FamilyManifest) -> None:
    synth = SyntheticFamily(SMALL)
    sentences = synth.parallel()
    base = family.base
    for lang in family.languages[1:]:
        base_path, other_path, align_path = family.parallel(lang.code)
        bitext, links = read_parallel(base_path, other_path), read_pharaoh(align_path)
        assert len(bitext) == len(links) == len(sentences) == SMALL.n_parallel
        for sentence, pair, alignment in zip(sentences, bitext, links):
            ours, theirs = synth.realize(sentence, base), synth.realize(sentence, lang)
            assert (pair.source, pair.target) == (" ".join(t.form for t in ours), " ".join(t.form for t in theirs))
            target_of = dict(sorted(alignment.sure))
            assert sorted(target_of) == list(range(len(ours)))  # every base word aligns to exactly one word
            assert sorted(target_of.values()) == list(range(len(theirs)))  # ... and no two to the same one
            assert all(ours[i].upos == theirs[j].upos for i, j in target_of.items())
            where = {token.leaf: target_of[i] for i, token in enumerate(ours)}
            for clause in range(len(sentence.clauses)):
                positions = {
                    role: [where[t.leaf] for t in ours if t.clause == clause and t.role == role] for role in "SVO"
                }
                present = [role for role in lang.clause_order if positions[role]]
                assert sorted(present, key=lambda role: min(positions[role])) == present
                for earlier, later in zip(present, present[1:]):  # constituents stay contiguous
                    assert max(positions[earlier]) < min(positions[later])
                if lang.clause_order.endswith("V"):  # the verb closes its clause
                    assert positions["V"][0] == max(where[t.leaf] for t in ours if t.clause == clause)
            for token in ours:
                phrase, _, kind = token.leaf.rpartition("/")
                if kind.startswith("adj"):
                    assert (where[token.leaf] < where[f"{phrase}/noun"]) == (lang.adjective_position == "before")
                if kind == "adp":
                    assert (where[token.leaf] < where[f"{phrase}/noun"]) == (lang.adposition == "preposition")


def test_conllu_is_valid_and_parallel_across_languages(family: FamilyManifest) -> None:
    for split in SPLITS:
        tag_bags = []
        for lang in family.languages:
            path = family.pos(lang.code, split)
            sentences = read_conllu(path)
            assert len(sentences) == getattr(SMALL, f"n_{split}")
            tag_bags.append([sorted(s.tags) for s in sentences])
            blocks = path.read_text(encoding="utf-8").split("\n\n")
            assert blocks[-1] == "" and len(blocks) == len(sentences) + 1
            for k, block in enumerate(blocks[:-1], start=1):
                sent_id, text, *words = block.split("\n")
                assert sent_id == f"# sent_id = {split}-{k:05d}"
                columns = [word.split("\t") for word in words]
                assert all(len(c) == 10 for c in columns)
                assert [c[0] for c in columns] == [str(i) for i in range(1, len(words) + 1)]
                assert {c[3] for c in columns} <= UPOS
                assert text == "# text = " + " ".join(c[1] for c in columns)
        assert all(bag == tag_bags[0] for bag in tag_bags)


def test_each_language_is_written_in_its_declared_script(family: FamilyManifest) -> None:
    vocabularies = {}
    for lang in family.languages:
        words = set(family.mono(lang.code).read_text(encoding="utf-8").split()) - {",", "."}
        letters = {ch for word in words for ch in word}
        assert all(unicodedata.category(ch) == "Ll" for ch in letters)
        if lang.script == "Qaaa":
            assert not any(unicodedata.name(ch).startswith("LATIN") for ch in letters)
        else:
            assert all(unicodedata.name(ch).startswith(SCRIPT_PREFIX[lang.script]) for ch in letters)
        vocabularies[lang.code] = words
    codes = sorted(vocabularies)
    assert all(not vocabularies[a] & vocabularies[b] for a in codes for b in codes if a < b)


def test_no_two_languages_write_one_word_even_in_one_script() -> None:
    """From 5 languages on scripts repeat; two languages of one script drew some words alike (qab's and qae's
    `на`, a preposition in one and a determiner in the other), against the typology's "share no word"."""
    synth = SyntheticFamily(replace(SMALL, n_languages=8, lexicon_size=200))
    assert len([lang for lang in synth.languages if lang.script == "Cyrl"]) == 3
    codes = [lang.code for lang in synth.languages]
    words = {code: synth.lexicons[code].surface_forms() for code in codes}
    shared = {(a, b): words[a] & words[b] for i, a in enumerate(codes) for b in codes[i + 1 :]}
    assert not any(shared.values()), {pair: sorted(both)[:3] for pair, both in shared.items() if both}
    for lexicon in synth.lexicons.values():  # concept -> word is a bijection
        words = [w for forms in lexicon.forms.values() for w in forms]
        assert len(words) == len(set(words))


def test_monolingual_corpora_are_independent_draws(family: FamilyManifest) -> None:
    lengths = [
        [len(line.split()) for line in family.mono(lang.code).read_text(encoding="utf-8").splitlines()]
        for lang in family.languages
    ]
    assert all(len(counts) == SMALL.n_monolingual for counts in lengths)
    assert all(counts != lengths[0] for counts in lengths[1:])


def test_pairs_are_balanced_language_independent_and_well_defined(family: FamilyManifest) -> None:
    abstract = SyntheticFamily(SMALL).pairs()
    for split in SPLITS:
        labels = [label for _, _, label in abstract[split]]
        assert abs(labels.count(1) - labels.count(0)) <= 1
        assert all((meaning(a) == meaning(b)) == bool(label) for a, b, label in abstract[split])
        for lang in family.languages:
            pairs = read_sentence_pairs(family.pairs(lang.code, split), labeled=True)
            assert [pair.label for pair in pairs] == [str(label) for label in labels]
            assert all(pair.first != pair.second for pair in pairs)
            same_words = [Counter(pair.first.split()) == Counter(pair.second.split()) for pair in pairs]
            assert all(same for same, pair in zip(same_words, pairs) if pair.label == "1")  # reorderings
            negatives = [same for same, pair in zip(same_words, pairs) if pair.label == "0"]
            assert not any(negatives)  # a non-paraphrase is another sentence: other words


def test_reuse_skips_an_intact_family_and_repairs_or_replaces_others(tmp_path: Path) -> None:
    first = generate_family(tmp_path, SMALL)
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    assert generate_family(tmp_path, SMALL, reuse=True) == first
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()} == stamps
    damaged = first.mono("qab")
    damaged.write_text("damaged\n", encoding="utf-8")
    generate_family(tmp_path, SMALL, reuse=True)
    assert damaged.read_bytes() != b"damaged\n"
    smaller = generate_family(tmp_path, replace(SMALL, n_languages=3))
    assert not first.mono("qad").exists() and not first.parallel("qad")[2].exists()
    assert set(_files(tmp_path)) == set(smaller.checksums) | {"family.json"}


def test_describe_family_is_one_row_per_language(family: FamilyManifest) -> None:
    text = describe_family(family)
    rows = text.splitlines()[3:]
    assert len(rows) == len(family.languages)
    for row, lang in zip(rows, family.languages):
        assert row.split()[:1] == [lang.code] and lang.script in row and lang.clause_order in row


@pytest.mark.parametrize(
    "change",
    [
        {"n_languages": 1},
        {"n_languages": 27},
        {"lexicon_size": 0},
        {"n_dev": True},
        {"zipf_exponent": 0},
        {"qa_dev": 0},
    ],
)
def test_bad_config_values_are_user_errors(change: dict) -> None:
    with pytest.raises(UserError):
        SynthConfig(**change)


def test_bad_lookups_are_user_errors(family: FamilyManifest, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no language 'xx'"):
        family.mono("xx")
    with pytest.raises(UserError, match="unknown split"):
        family.pos("qab", "validation")
    with pytest.raises(UserError, match="unknown split"):
        family.qa("qab", "validation")
    with pytest.raises(UserError, match="base language"):
        family.parallel("qaa")
    with pytest.raises(UserError, match="no synthetic family"):
        load_manifest(tmp_path)


@pytest.mark.slow
def test_synth_command_writes_and_describes_the_family(tmp_path: Path) -> None:
    out = tmp_path / "synth"
    result = CliRunner().invoke(main, ["synth", "--out", str(out), "--languages", "2", "--seed", "3"])
    assert result.exit_code == 0, result.output
    manifest = load_manifest(out)
    assert manifest.config == SynthConfig(n_languages=2, seed=3)
    assert "QA questions 1000/200/400" in result.output and f"written to {out}" in result.output
    assert [len(read_squad(manifest.qa("qab", split))) for split in SPLITS] == [1000, 200, 400]
    assert set(_files(out)) == set(manifest.checksums) | {"family.json"}
