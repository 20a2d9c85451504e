"""`mbert-eval text` picks a file's format by its content where the suffix does not settle it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mbert_eval.data.text import detect_format, extract_text, read_sentences
from mbert_eval.errors import DataError
from tests.helpers import run_cli

PANX = "en:The\tO\nen:Paris\tB-LOC\n\nen:Hi\tO\n"
UDPOS = "en:The\tDET\nen:cat\tNOUN\n\nen:Hi\tINTJ\n"
ROW = "{}\t{}\t_\t{}\t_\t_\t0\troot\t_\t_\n"
SQUAD = {
    "version": "1.1",
    "data": [
        {
            "title": "Ada",
            "paragraphs": [
                {
                    "context": "Ada kam in London\nzur Welt.",
                    "qas": [
                        {
                            "id": "1",
                            "question": "Wo kam Ada zur Welt?",
                            "answers": [{"text": "London", "answer_start": 11}],
                        },
                        {
                            "id": "2",
                            "question": "Wer kam in London zur Welt?",
                            "answers": [{"text": "Ada", "answer_start": 0}],
                        },
                    ],
                },
                {
                    "context": "Sie rechnete.",
                    "qas": [
                        {"id": "3", "question": "Was tat sie?", "answers": [{"text": "rechnete", "answer_start": 4}]}
                    ],
                },
            ],
        }
    ],
}
CONLLU = (
    "# sent_id = 1\n# text = Hallo Welt\n" + ROW.format(1, "Hallo", "INTJ") + ROW.format(2, "Welt", "NOUN") + "\n"
    "# sent_id = 2\n" + ROW.format(1, "Guten", "ADJ") + ROW.format(2, "Tag", "NOUN") + "\n"
)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _text_cli(source: Path, tmp_path: Path) -> list[str]:
    out = tmp_path / "out.txt"
    result = run_cli("text", source, "--out", out)
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("name", ["panx-en.tsv", "panx-en.txt"])
def test_token_per_line_ner_tsv_is_read_as_sentences(name: str, tmp_path: Path) -> None:
    path = _write(tmp_path / name, PANX)
    assert detect_format(path) == "ner"
    assert _text_cli(path, tmp_path) == ["The Paris", "Hi"]


def test_token_per_line_pos_tsv_is_read_as_sentences(tmp_path: Path) -> None:
    path = _write(tmp_path / "udpos-en.tsv", UDPOS)
    assert detect_format(path) == "tagged"
    assert read_sentences(path) == ["The cat", "Hi"]


def test_pair_tsv_stays_pairs(tmp_path: Path) -> None:
    two_columns = _write(tmp_path / "two.tsv", "Hello\tHallo\nGood\tGut\n")
    labeled = _write(tmp_path / "p.tsv", "a b\tc d\t1\na b\te f\t0\n")
    assert detect_format(two_columns) == detect_format(labeled) == "pairs"
    assert extract_text(two_columns) == ["Hello", "Hallo", "Good", "Gut"]


@pytest.mark.parametrize("name", ["de.conll", "de.txt", "de.conllu"])
def test_conllu_by_content_and_sentences_without_text_comment(name: str, tmp_path: Path) -> None:
    path = _write(tmp_path / name, CONLLU)
    assert detect_format(path) == "conllu"
    assert _text_cli(path, tmp_path) == ["Hallo Welt", "Guten Tag"]


def test_conllu_without_text_comment_joins_syntactic_words(tmp_path: Path) -> None:
    rows = "1-2\tdel\t_\t_\t_\t_\t_\t_\t_\t_\n" + ROW.format(1, "de", "ADP") + ROW.format(2, "el", "DET")
    path = _write(tmp_path / "es.conllu", "# text = Hola\n" + ROW.format(1, "Hola", "INTJ") + "\n" + rows)
    assert read_sentences(path) == ["Hola", "de el"]


@pytest.mark.parametrize("content", ["", "\n  \n\n"])
def test_empty_text_file_is_refused(content: str, tmp_path: Path) -> None:
    path = _write(tmp_path / "empty.txt", content)
    with pytest.raises(DataError, match="no lines found"):
        read_sentences(path)
    result = run_cli("text", path, "--out", tmp_path / "out.txt")
    assert result.exit_code == 2 and "empty.txt: no lines found" in result.output


@pytest.mark.parametrize(("name", "indent"), [("xquad.de.json", None), ("squad-de.txt", 1)])
def test_squad_json_gives_each_context_once_and_its_questions(name: str, indent: int | None, tmp_path: Path) -> None:
    """Read as text, a SQuAD file gave its JSON syntax as lines (one line of all of it, for XQuAD's files)."""
    path = _write(tmp_path / name, json.dumps(SQUAD, indent=indent, ensure_ascii=False))
    assert detect_format(path) == "squad"
    assert _text_cli(path, tmp_path) == [
        "Ada kam in London zur Welt.",  # a line break inside a context (XQuAD has some) is a space
        "Wo kam Ada zur Welt?",
        "Wer kam in London zur Welt?",
        "Sie rechnete.",
        "Was tat sie?",
    ]


def test_xquad_gives_its_240_contexts_and_1190_questions(shared_data: Path) -> None:
    sentences = read_sentences(shared_data / "xquad/xquad.de.json")
    assert len(sentences) == 240 + 1190 and sentences[0].startswith("Die Verteidigung der Panthers gab nur 308 Punkte")
    assert not any("\n" in sentence for sentence in sentences)


def test_a_bitext_is_refused_naming_how_to_take_one_side(tmp_path: Path) -> None:
    """Read as text, each line of an awesome-align `source ||| target` file held both languages."""
    path = _write(tmp_path / "enfr.src-tgt", "the cat ||| le chat\na dog ||| un chien\n")
    assert detect_format(path) == "bitext"
    result = run_cli("text", path, "--out", tmp_path / "out.txt")
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert f"{path}: a `source ||| target` bitext (awesome-align's format) holds two languages a line" in result.output
    assert "sed 's/ ||| .*//'" in result.output and "sed 's/.* ||| //'" in result.output


def test_a_text_line_with_bars_stays_text(tmp_path: Path) -> None:
    path = _write(tmp_path / "plain.txt", "a ||| b\nno bars here\n")
    assert detect_format(path) == "text"
    assert read_sentences(path) == ["a ||| b", "no bars here"]


def test_a_text_file_that_starts_with_a_brace_stays_text(tmp_path: Path) -> None:
    path = _write(tmp_path / "wiki.txt", "{{Infobox}} Paris ist eine Stadt.\nSie liegt an der Seine.\n")
    assert read_sentences(path) == ["{{Infobox}} Paris ist eine Stadt.", "Sie liegt an der Seine."]
