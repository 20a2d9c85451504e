"""A synthetic language family for offline runs and controlled studies of cross-lingual transfer.

One shared grammar (`synthetic_grammar`) is realized as N artificial languages that differ in lexicon,
script and word order, after K et al. (ICLR 2020, "Cross-lingual ability of multilingual BERT") and
Dufter & Schütze (EMNLP 2020, "Identifying elements essential for BERT's multilinguality"). The family
comes with raw text for pretraining, a POS treebank, paraphrase pairs, QA and word-aligned parallel text.
`generate_family` writes, `load_manifest` reads back:

    family.json                             config, languages, generator, SHA-256 of every file
    typology.json                           the designed typology: script, lexicon, word-order features
    mono/{code}.txt                         raw text, one whitespace-tokenized sentence per line
    pos/{code}-{train,dev,test}.conllu      UPOS treebank; same sentences in every language
    pairs/{code}-{train,dev,test}.tsv       sentence1 TAB sentence2 TAB label (1 = paraphrase)
    qa/{code}-{train,dev,test}.json         SQuAD v1.1 JSON; same questions and ids in every language
    parallel/{base}-{code}.{base}|.{code}   line-aligned parallel text of the base and each target
    parallel/{base}-{code}.align            gold alignment, Pharaoh `i-j` (0-indexed, i in the base)

Monolingual corpora are drawn independently per language, as in real multilingual pretraining; the
treebank, pair, QA and parallel sentences are each their own draw, shared by all languages.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

from mbert_eval.data.checksums import file_checksum
from mbert_eval.errors import DataError, UserError
from mbert_eval.synthetic.grammar import (
    Lexicon,
    Sentence,
    SentenceSampler,
    SyntheticLanguage,
    Token,
    build_lexicon,
    meaning,
    realize,
    rewrites,
)
from mbert_eval.synthetic.qa import qa_examples, qa_items, write_qa
from mbert_eval.synthetic.typology import TYPOLOGY_FILE, typology_json

# bump when the output for a config changes (v4: typology.json; v5: languages of one script share no word, which
# changes families of 5 languages or more, not the default 4)
GENERATOR = "mbert-eval synthetic family v5"
SPLITS = ("train", "dev", "test")
MAX_LANGUAGES = 26  # ISO 639 local-use codes qaa ... qaz

TARGET_SCRIPTS = ("Cyrl", "Grek", "Qaaa")  # languages 1, 2, 3, 4, ... cycle through these
# (clause order, adjective position, adposition) of languages 1, 2, 3, ...; language 3 (the last one
# of the default family) is head-final, so it differs from the base in script and word order.
TARGET_ORDERS = (
    ("SVO", "after", "preposition"),
    ("VSO", "after", "preposition"),
    ("SOV", "before", "postposition"),
    ("SOV", "after", "postposition"),
    ("SVO", "before", "postposition"),
    ("VSO", "before", "preposition"),
)
BASE = ("Latn", "SVO", "before", "preposition")


@dataclass(frozen=True)
class SynthConfig:
    """Size and seed of a synthetic family; the defaults make the offline quickstart fit in 5 minutes."""

    n_languages: int = 4  # language 0 (qaa) is the Latin-script SVO base; the others are targets
    seed: int = 0
    n_monolingual: int = 4000  # raw sentences per language, enough for a tiny BERT to learn in ~2 min
    n_train: int = 1000  # sentences (POS) and sentence pairs (paraphrase) per split
    n_dev: int = 200
    n_test: int = 400
    n_parallel: int = 1000  # sentences of parallel text with each target, for alignment studies
    qa_train: int = 1000  # QA questions per split, up to 3 per context
    qa_dev: int = 200
    qa_test: int = 400
    qa_context: int = 3  # sentences per QA context: 3 makes a model find the sentence first; 1 is easier
    lexicon_size: int = 150  # concepts per open class (NOUN, VERB, ADJ, ADV)
    zipf_exponent: float = 1.0  # word frequency ∝ rank^-s; s ≈ 1 in natural text (Zipf 1949)

    def __post_init__(self) -> None:
        bounds = {
            "n_languages": (2, MAX_LANGUAGES),
            "seed": (0, 2**63 - 1),
            "n_monolingual": (1, 10**7),
            "n_train": (2, 10**6),
            "n_dev": (2, 10**6),
            "n_test": (2, 10**6),
            "n_parallel": (1, 10**6),
            "lexicon_size": (10, 5000),
            **{f"qa_{split}": (1, 10**6) for split in SPLITS},
            "qa_context": (1, 10),
        }
        for name, (low, high) in bounds.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise UserError(f"synthetic config: {name} must be an integer from {low} to {high}, got {value!r}")
        s = self.zipf_exponent
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not 0 < s <= 3:
            raise UserError(f"synthetic config: zipf_exponent must be a number in (0, 3], got {s!r}")


def family_languages(n_languages: int) -> list[SyntheticLanguage]:
    """The default typology: the base, then targets cycling through TARGET_SCRIPTS and TARGET_ORDERS."""
    out = []
    for i in range(n_languages):
        if i == 0:
            script, order, adjective, adposition = BASE
        else:
            script = TARGET_SCRIPTS[(i - 1) % len(TARGET_SCRIPTS)]
            order, adjective, adposition = TARGET_ORDERS[(i - 1) % len(TARGET_ORDERS)]
        letter = chr(ord("a") + i)
        name = f"Synthetic {letter.upper()}"
        out.append(SyntheticLanguage(f"qa{letter}", name, script, order, adjective, adposition))
    return out


class SyntheticFamily:
    """The languages and lexicons of one config, and the abstract sentences of each data set."""

    def __init__(self, config: SynthConfig) -> None:
        self.config = config
        self.languages = family_languages(config.n_languages)
        self.lexicons: dict[str, Lexicon] = {}
        taken: set[str] = set()  # the words of the languages built so far: no other language writes them
        for lang in self.languages:
            lexicon = build_lexicon(self._rng(f"lexicon:{lang.code}"), lang.script, config.lexicon_size, taken)
            self.lexicons[lang.code] = lexicon
            taken |= lexicon.surface_forms()

    def _rng(self, stream: str) -> random.Random:
        return random.Random(f"mbert-eval-synth:{self.config.seed}:{stream}")

    def sampler(self, stream: str) -> SentenceSampler:
        """A sentence sampler with its own random stream, so data sets do not depend on each other."""
        return SentenceSampler(self._rng(stream), self.config.lexicon_size, self.config.zipf_exponent)

    def realize(self, sentence: Sentence, language: SyntheticLanguage) -> list[Token]:
        """`sentence` in `language`."""
        return realize(sentence, language, self.lexicons[language.code])

    def monolingual(self, code: str) -> list[Sentence]:
        """Raw text of one language, drawn independently of the other languages."""
        sampler = self.sampler(f"mono:{code}")
        return [sampler.sentence() for _ in range(self.config.n_monolingual)]

    def treebank(self) -> dict[str, list[Sentence]]:
        """Distinct sentences per split, shared by all languages (parallel test sets, like PUD)."""
        sentences = self._distinct({f"pos:{split}": getattr(self.config, f"n_{split}") for split in SPLITS})
        return {split: sentences[f"pos:{split}"] for split in SPLITS}

    def parallel(self) -> list[Sentence]:
        """Distinct sentences of the parallel corpus."""
        return self._distinct({"parallel": self.config.n_parallel})["parallel"]

    def _distinct(self, sizes: dict[str, int]) -> dict[str, list[Sentence]]:
        seen: set[Sentence] = set()
        out: dict[str, list[Sentence]] = {}
        for stream, size in sizes.items():
            sampler, out[stream] = self.sampler(stream), []
            while len(out[stream]) < size:
                sentence = sampler.sentence()
                if sentence not in seen:
                    seen.add(sentence)
                    out[stream].append(sentence)
        return out

    def pairs(self) -> dict[str, list[tuple[Sentence, Sentence, int]]]:
        """Paraphrase pairs per split, distinct sentences: label 1 iff both sides mean the same (`meaning`).

        A paraphrase (label 1) is a meaning-preserving rewrite of its sentence (clauses or conjuncts of a
        commutative "and"/"or" swapped, adjectives reordered: the same words in another order), its kind drawn
        uniformly; a non-paraphrase (label 0) pairs the sentence with another sentence of the split. Every
        sentence admits both kinds of rewrite, so neither side alone gives the label away; half of each split is
        labelled 1. Not PAWS's adversarial negatives (one-step rewrites that change the meaning, such as swapped
        arguments): with 1,000 training pairs those stay at chance even for multilingual-e5-small (0.53 after
        3 epochs), and a few percent of them among the negatives pull a tiny model's source accuracy below 0.8.
        """
        out: dict[str, list[tuple[Sentence, Sentence, int]]] = {}
        seen: set[Sentence] = set()
        for split in SPLITS:
            sampler = self.sampler(f"pairs:{split}")
            size = getattr(self.config, f"n_{split}")
            labels = [1] * (size // 2) + [0] * (size - size // 2)
            sampler.rng.shuffle(labels)
            out[split] = []
            for label in labels:
                source, candidates = self._pair_source(sampler, seen)
                if label:
                    by_kind = candidates[1]
                    target = sampler.rng.choice(by_kind[sampler.rng.choice(sorted(by_kind))])
                else:
                    target, _ = self._pair_source(sampler, seen)
                first, second = (source, target) if sampler.rng.random() < 0.5 else (target, source)
                out[split].append((first, second, label))
        return out

    @staticmethod
    def _pair_source(
        sampler: SentenceSampler, seen: set[Sentence]
    ) -> tuple[Sentence, dict[int, dict[str, list[Sentence]]]]:
        """A new sentence with its rewrites by label and kind, drawn until both labels are possible."""
        while True:
            source = sampler.sentence()
            if source in seen:
                continue
            candidates: dict[int, dict[str, list[Sentence]]] = {0: {}, 1: {}}
            for kind, new in rewrites(source, sampler):
                candidates[int(meaning(new) == meaning(source))].setdefault(kind, []).append(new)
            if candidates[0] and candidates[1]:
                seen.add(source)
                return source, candidates


@dataclass(frozen=True)
class FamilyManifest:
    """A generated family on disk: its config, languages, and the SHA-256 of every file."""

    root: Path
    config: SynthConfig
    languages: list[SyntheticLanguage]
    checksums: dict[str, str]  # path relative to root -> SHA-256
    generator: str = GENERATOR

    @property
    def base(self) -> SyntheticLanguage:
        """Language 0, the Latin-script SVO language that the others are compared with."""
        return self.languages[0]

    def language(self, code: str) -> SyntheticLanguage:
        """The language with ISO 639 code `code`."""
        for language in self.languages:
            if language.code == code:
                return language
        known = ", ".join(lang.code for lang in self.languages)
        raise UserError(f"synthetic family at {self.root} has no language '{code}' (it has {known})")

    def mono(self, code: str) -> Path:
        """Raw text, one whitespace-tokenized sentence per line."""
        return self.root / "mono" / f"{self.language(code).code}.txt"

    def pos(self, code: str, split: str) -> Path:
        """The CoNLL-U POS treebank of one split."""
        return self.root / "pos" / f"{self.language(code).code}-{_split(split)}.conllu"

    def pairs(self, code: str, split: str) -> Path:
        """Paraphrase pairs of one split: sentence1 TAB sentence2 TAB label, no header."""
        return self.root / "pairs" / f"{self.language(code).code}-{_split(split)}.tsv"

    def qa(self, code: str, split: str) -> Path:
        """Extractive QA of one split, SQuAD v1.1 JSON; the same ids in every language."""
        return self.root / "qa" / f"{self.language(code).code}-{_split(split)}.json"

    def parallel(self, code: str) -> tuple[Path, Path, Path]:
        """(base side, `code` side, Pharaoh alignment base-index-target-index) of the base-`code` corpus."""
        base = self.base.code
        if self.language(code).code == base:
            raise UserError(f"'{code}' is the base language; parallel text pairs it with each other language")
        stem = self.root / "parallel" / f"{base}-{code}"
        return stem.with_suffix(f".{base}"), stem.with_suffix(f".{code}"), stem.with_suffix(".align")


def _split(split: str) -> str:
    if split not in SPLITS:
        raise UserError(f"unknown split '{split}'; use one of {', '.join(SPLITS)}")
    return split


def generate_family(out_dir: Path, config: SynthConfig, reuse: bool = True) -> FamilyManifest:
    """Write the family of `config` under `out_dir` (layout in the module docstring) and return its manifest.

    With `reuse`, an existing family of the same config and generator version whose files all match
    their checksums is returned as is; the output of a config is byte-identical on every run anyway.
    """
    out_dir = Path(out_dir)
    if reuse and _is_current(out_dir, config):
        return load_manifest(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # a file on the way, a read-only folder, a full disk
        raise _cannot_write(out_dir, out_dir, err, folder=True) from None
    _remove_previous(out_dir)
    family = SyntheticFamily(config)
    checksums: dict[str, str] = {}

    def write(relative: str, lines: list[str]) -> None:
        data = "".join(line + "\n" for line in lines).encode("utf-8")
        path = out_dir / relative
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except OSError as err:  # something in the way inside out_dir, a read-only folder, a full disk
            raise _cannot_write(out_dir, path, err) from None
        checksums[relative] = hashlib.sha256(data).hexdigest()

    treebank, pairs, parallel, qa = family.treebank(), family.pairs(), family.parallel(), qa_items(family, SPLITS)
    base = family.languages[0]
    for lang in family.languages:
        write(f"mono/{lang.code}.txt", [_text(family.realize(s, lang)) for s in family.monolingual(lang.code)])
        questions = qa_examples(family, lang, qa)
        for split in SPLITS:
            write(f"pos/{lang.code}-{split}.conllu", _conllu(family, lang, split, treebank[split]))
            write(
                f"pairs/{lang.code}-{split}.tsv",
                [
                    f"{_text(family.realize(a, lang))}\t{_text(family.realize(b, lang))}\t{label}"
                    for a, b, label in pairs[split]
                ],
            )
            relative = f"qa/{lang.code}-{split}.json"
            try:
                checksums[relative] = write_qa(out_dir / relative, questions[split])
            except OSError as err:
                raise _cannot_write(out_dir, out_dir / relative, err) from None
    base_tokens = [family.realize(s, base) for s in parallel]
    for lang in family.languages[1:]:
        other_tokens = [family.realize(s, lang) for s in parallel]
        stem = f"parallel/{base.code}-{lang.code}"
        write(f"{stem}.{base.code}", [_text(tokens) for tokens in base_tokens])
        write(f"{stem}.{lang.code}", [_text(tokens) for tokens in other_tokens])
        write(f"{stem}.align", [_alignment(b, o) for b, o in zip(base_tokens, other_tokens)])
    write(TYPOLOGY_FILE, typology_json(family.languages, GENERATOR).splitlines())
    manifest = FamilyManifest(out_dir, config, family.languages, checksums)
    try:
        (out_dir / "family.json").write_bytes(_manifest_json(manifest).encode("utf-8"))
    except OSError as err:
        raise _cannot_write(out_dir, out_dir / "family.json", err) from None
    return manifest


def _cannot_write(out_dir: Path, path: Path, err: OSError, folder: bool = False) -> UserError:
    """The one-line error of a family whose folder (`folder`) or file `path` could not be made: it names what is
    in the way (a file where a folder goes, a folder where a file goes), else the system's reason."""
    if not folder and path.is_dir():
        why = f"{path} is a folder, not a file"
    else:
        places = [path, *path.parents] if folder else list(path.parents)
        file = next((place for place in places if place.exists() and not place.is_dir()), None)
        why = f"{file} is a file, not a folder" if file else f"{err.strerror or err} ({err.filename or path})"
    return UserError(f"cannot write the synthetic family {out_dir}: {why}")


def _text(tokens: list[Token]) -> str:
    return " ".join(token.form for token in tokens)


def _conllu(family: SyntheticFamily, lang: SyntheticLanguage, split: str, sentences: list[Sentence]) -> list[str]:
    """CoNLL-U lines; sent_id is the same in every language, so test sets are parallel (like PUD)."""
    lines = []
    for k, sentence in enumerate(sentences, start=1):
        tokens = family.realize(sentence, lang)
        lines += [f"# sent_id = {split}-{k:05d}", f"# text = {_text(tokens)}"]
        lines += [f"{i}\t{t.form}\t_\t{t.upos}\t_\t_\t_\t_\t_\t_" for i, t in enumerate(tokens, start=1)]
        lines.append("")
    return lines


def _alignment(base: list[Token], other: list[Token]) -> str:
    """Pharaoh `i-j` pairs: base word i and other word j realize the same leaf of the tree."""
    position = {token.leaf: j for j, token in enumerate(other)}
    return " ".join(f"{i}-{position[token.leaf]}" for i, token in enumerate(base))


def _manifest_json(manifest: FamilyManifest) -> str:
    record = {
        "generator": manifest.generator,
        "config": asdict(manifest.config),
        "base": manifest.base.code,
        "languages": [asdict(lang) for lang in manifest.languages],
        "files": manifest.checksums,
    }
    return json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def load_manifest(out_dir: Path) -> FamilyManifest:
    """The manifest of the family generated under `out_dir`."""
    path = Path(out_dir) / "family.json"
    if not path.is_file():
        raise UserError(f"no synthetic family at {out_dir} (no family.json); generate one with `mbert-eval synth`")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        config = SynthConfig(**record["config"])
        languages = [SyntheticLanguage(**lang) for lang in record["languages"]]
        return FamilyManifest(Path(out_dir), config, languages, dict(record["files"]), record["generator"])
    except (ValueError, KeyError, TypeError) as error:
        raise DataError(path, f"not a synthetic family manifest ({type(error).__name__}: {error})") from None


def _is_current(out_dir: Path, config: SynthConfig) -> bool:
    """Whether `out_dir` holds the family of `config` from this generator, every file intact."""
    try:
        manifest = load_manifest(out_dir)
    except UserError:
        return False
    if manifest.config != config or manifest.generator != GENERATOR:
        return False
    for relative, checksum in manifest.checksums.items():
        path = out_dir / relative
        if not path.is_file() or file_checksum(path) != checksum:
            return False
    return True


def _remove_previous(out_dir: Path) -> None:
    """Delete family.json first (a half-written family is never reused), then the files it listed."""
    try:
        previous = load_manifest(out_dir)
    except UserError:
        return
    (out_dir / "family.json").unlink()
    for relative in previous.checksums:
        path = (out_dir / relative).resolve()
        if path.is_file() and out_dir.resolve() in path.parents:
            path.unlink()


def describe_family(manifest: FamilyManifest) -> str:
    """A one-table summary: sizes, then one row per language with its typology and a test sentence."""
    c = manifest.config
    lines = [
        f"synthetic family at {manifest.root}: {len(manifest.languages)} languages, seed {c.seed}",
        f"per language: {c.n_monolingual} raw sentences; POS sentences and paraphrase pairs "
        f"{c.n_train}/{c.n_dev}/{c.n_test}, QA questions {c.qa_train}/{c.qa_dev}/{c.qa_test} (train/dev/test); "
        f"{c.n_parallel} parallel sentences with {manifest.base.code}",
    ]
    header = ("code", "name", "role", "script", "order", "adjective", "adposition", "test sentence 1")
    rows = [header]
    for lang in manifest.languages:
        role = "base" if lang == manifest.base else "target"
        rows.append(
            (
                lang.code,
                lang.name,
                role,
                lang.script,
                lang.clause_order,
                lang.adjective_position,
                lang.adposition,
                _first_text(manifest.pos(lang.code, "test")),
            )
        )
    widths = [max(len(row[k]) for row in rows) for k in range(len(header))]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def _first_text(conllu: Path) -> str:
    """The first `# text` of a CoNLL-U file, cut to 40 characters."""
    with conllu.open(encoding="utf-8") as lines:
        text = next((line[len("# text = ") :].rstrip("\n") for line in lines if line.startswith("# text = ")), "")
    return text if len(text) <= 40 else text[:39] + "…"
