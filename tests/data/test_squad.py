"""SQuAD v1.1 JSON reader and writer, and the Hub QA reader (in-memory datasets, no network)."""

import json
import re
from pathlib import Path
from typing import Any

import pytest

from mbert_eval.data import (
    Answer,
    QAExample,
    parse_hub_spec,
    read_hub_squad,
    read_squad,
    write_squad,
)
from mbert_eval.errors import DataError, UserError
from tests.helpers import fake_hub

CONTEXT = "Ada Lovelace wrote the first program in 1843."
EXAMPLES = [
    QAExample("q1", "Who wrote the first program?", CONTEXT, (Answer("Ada Lovelace", 0),)),
    QAExample("q2", "When?", CONTEXT, (Answer("1843", 40), Answer("in 1843", 37))),
    QAExample("q3", "北京在哪里？", "北京是中国的首都。", (Answer("中国", 3),)),
]


def squad_json(qas: list[Any], context: str = CONTEXT) -> dict[str, Any]:
    """A one-paragraph SQuAD v1.1 document."""
    return {"version": "1.1", "data": [{"title": "T", "paragraphs": [{"context": context, "qas": qas}]}]}


def question(qid: str = "q1", **fields: Any) -> dict[str, Any]:
    """One valid question record, with `fields` replacing its keys (None removes one)."""
    record = {"id": qid, "question": "Who?", "answers": [{"text": "Ada Lovelace", "answer_start": 0}], **fields}
    return {key: value for key, value in record.items() if value is not None}


def write_json(tmp_path: Path, document: Any) -> Path:
    """Write a document as a JSON file and return its path (a lone surrogate as its JSON escape, `\\ud83d`)."""
    path = tmp_path / "qa.json"
    path.write_bytes(json.dumps(document, ensure_ascii=False).encode("utf-8", "backslashreplace"))
    return path


def test_write_then_read_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "out" / "qa.json"
    path.parent.mkdir()
    write_squad(path, EXAMPLES)
    assert read_squad(path) == EXAMPLES
    document = json.loads(path.read_text(encoding="utf-8"))
    paragraphs = document["data"][0]["paragraphs"]
    assert [len(paragraph["qas"]) for paragraph in paragraphs] == [2, 1]  # a shared context is written once
    assert "北京" in path.read_text(encoding="utf-8")


def test_reads_several_articles_in_order(tmp_path: Path) -> None:
    second = squad_json([question("q9", answers=[{"text": "ab", "answer_start": 1}])], context="cabd")["data"]
    document = {"data": squad_json([question("q1")])["data"] + second}
    assert [example.id for example in read_squad(write_json(tmp_path, document))] == ["q1", "q9"]


def test_write_refuses_invalid_examples(tmp_path: Path) -> None:
    bad = QAExample("q7", "?", CONTEXT, (Answer("Ada", 1),))
    with pytest.raises(ValueError, match="question 'q7': answer 0 'Ada' does not match"):
        write_squad(tmp_path / "qa.json", [bad])
    assert not (tmp_path / "qa.json").exists()


@pytest.mark.parametrize(
    ("qas", "message"),
    [
        ([question(answers=None)], "question 'q1': no answers"),
        ([question(answers=[])], "question 'q1': no answers"),
        (
            [question(answers=[{"text": "program", "answer_start": 40}])],
            "question 'q1': answer 0 'program' spans [40, 47), outside",
        ),
        (
            [question(answers=[{"text": "Ada", "answer_start": -1}])],
            "question 'q1': answer 0 'Ada' spans [-1, 2), outside",
        ),
        (
            [question(answers=[{"text": "Lovelace", "answer_start": 3}])],
            "question 'q1': answer 0 'Lovelace' does not match its context at 3, which reads ' Lovelac'",
        ),
        ([question(answers=[{"text": "", "answer_start": 0}])], "question 'q1': answer 0 is empty"),
        (
            [question(answers=[{"text": "Ada", "answer_start": "0"}])],
            "question 'q1': answer 0 needs a 'text' string and an integer 'answer_start'",
        ),
        ([question(question=None)], "question 'q1': no 'question' string"),
        (
            [question(answers={"text": ["Ada"], "answer_start": [0]})],
            "question 'q1': answers in the Hub's layout",
        ),
        ([question(question="Who \ud83d?")], "question 'q1': a lone surrogate in its text"),
        ([question(), question()], "question 'q1': duplicate id"),
        ([question(id=None)], "data[0].paragraphs[0].qas[0]: no 'id' string"),
        ([], "no questions found"),
    ],
)
def test_malformed_questions_name_file_and_id(tmp_path: Path, qas: list[Any], message: str) -> None:
    path = write_json(tmp_path, squad_json(qas))
    with pytest.raises(DataError) as caught:
        read_squad(path)
    assert str(caught.value).startswith(f"{path}: {message}")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ('{"data": [\n  {"paragraphs": [}\n]}', "not valid JSON: Expecting value", 2),
        ("", "not valid JSON", 1),
    ],
)
def test_not_json(tmp_path: Path, text: str, message: str, line: int) -> None:
    path = tmp_path / "qa.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=f"^{re.escape(str(path))}:{line}: {message}") as caught:
        read_squad(path)
    assert caught.value.line == line


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([1, 2], "top level: no 'data' list"),
        ({"data": [{"title": "T"}]}, "data[0]: no 'paragraphs' list"),
        ({"data": [{"paragraphs": [{"qas": []}]}]}, "data[0].paragraphs[0]: no 'context' string"),
        ({"data": [{"paragraphs": [{"context": "c"}]}]}, "data[0].paragraphs[0]: no 'qas' list"),
    ],
)
def test_wrong_shape(tmp_path: Path, document: Any, message: str) -> None:
    path = write_json(tmp_path, document)
    with pytest.raises(DataError) as caught:
        read_squad(path)
    assert str(caught.value).startswith(f"{path}: {message}; expected SQuAD v1.1 JSON")


# --- Hub ----------------------------------------------------------------------------------------------------


def fake_hub_rows(monkeypatch: pytest.MonkeyPatch, rows: list[dict[str, Any]]) -> list[tuple]:
    """Serve the rows in the Hub's SQuAD layout (hub_fakes.fake_hub); returns the recorded loads."""
    from datasets import Features, Sequence, Value

    features = Features(
        {
            "id": Value("string"),
            "title": Value("string"),
            "context": Value("string"),
            "question": Value("string"),
            "answers": Sequence({"text": Value("string"), "answer_start": Value("int32")}),
        }
    )
    return fake_hub(monkeypatch, {name: [row.get(name, "") for row in rows] for name in features}, features)


def hub_row(example: QAExample) -> dict[str, Any]:
    """A QAExample as a Hub row."""
    return {
        "id": example.id,
        "question": example.question,
        "context": example.context,
        "answers": {"text": [a.text for a in example.answers], "answer_start": [a.start for a in example.answers]},
    }


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("hub:google/xtreme@MLQA.de.de:test", ("google/xtreme", "MLQA.de.de", "test")),
        ("hub:google/xquad@xquad.de:validation", ("google/xquad", "xquad.de", "validation")),
        ("hub:google/xtreme@tydiqa:validation", ("google/xtreme", "tydiqa", "validation")),
    ],
)
def test_hub_squad_reads_spec(monkeypatch: pytest.MonkeyPatch, spec: str, expected: tuple[str, str, str]) -> None:
    calls = fake_hub_rows(monkeypatch, [hub_row(example) for example in EXAMPLES])
    assert read_hub_squad(*parse_hub_spec(spec)) == EXAMPLES
    assert calls == [expected + (None,)]


def test_hub_squad_checks_spans_like_the_file_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    row = hub_row(EXAMPLES[0])
    row["answers"] = {"text": ["Lovelace"], "answer_start": [0]}
    fake_hub_rows(monkeypatch, [row])
    with pytest.raises(
        DataError, match=r"^hub:google/xquad@xquad\.de:validation: question 'q1': answer 0 'Lovelace' does not match"
    ):
        read_hub_squad("google/xquad", "xquad.de", "validation")


def test_hub_squad_refuses_duplicates_and_missing_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_hub_rows(monkeypatch, [hub_row(EXAMPLES[0]), hub_row(EXAMPLES[0])])
    with pytest.raises(DataError, match="question 'q1': duplicate id"):
        read_hub_squad("google/xtreme", "tydiqa", "validation")
    monkeypatch.setattr("mbert_eval.data.hub._loaded", {})  # a new process: the rows below are read afresh
    fake_hub_rows(monkeypatch, [{**hub_row(EXAMPLES[0]), "answers": {"text": [], "answer_start": []}}])
    with pytest.raises(DataError, match="^hub:google/xtreme@tydiqa:validation: question 'q1': no answers"):
        read_hub_squad("google/xtreme", "tydiqa", "validation")


def test_hub_squad_missing_column(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_hub(monkeypatch, {"id": ["a"], "context": ["c"]})
    with pytest.raises(UserError, match="has no column 'question', 'answers'; its columns are id, context"):
        read_hub_squad("google/xquad", "xquad.de", "validation")


def test_hub_squad_offline_suggests_read_squad(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets.config
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    with pytest.raises(UserError, match=r"not reachable \(offline\).*read_squad"):
        read_hub_squad("google/xquad", "xquad.de", "validation")
