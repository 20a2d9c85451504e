"""Read, check and write extractive QA data in SQuAD v1.1's JSON shape (Rajpurkar et al. 2016), which XQuAD
(Artetxe et al. 2020), MLQA (Lewis et al. 2020) and TyDiQA-GoldP (Clark et al. 2020; XTREME, Hu et al. 2020)
ship in: ``{"data": [{"title", "paragraphs": [{"context", "qas": [{"id", "question", "answers": [{"text",
"answer_start"}]}]}]}]}``.

Checks are exact: every answer must be non-empty and equal ``context[answer_start:answer_start + len(text)]``
(no allowance for off-by-whitespace offsets), every question needs an answer (SQuAD v2.0's unanswerable
questions are refused) and ids are unique.
"""

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mbert_eval.data.types import Answer, PathLike, QAExample, read_lines
from mbert_eval.errors import DataError

_SHAPE = 'expected SQuAD v1.1 JSON: {"data": [{"paragraphs": [{"context", "qas": [{"id", "question", "answers"}]}]}]}'


def _answer_problem(context: str, number: int, answer: Answer) -> str | None:
    """What is wrong with one answer span, or None."""
    end = answer.start + len(answer.text)
    if not answer.text:
        return f"answer {number} is empty"
    if answer.start < 0 or end > len(context):
        return f"answer {number} {answer.text!r} spans [{answer.start}, {end}), outside its context of {len(context)} characters"
    if context[answer.start : end] != answer.text:
        return f"answer {number} {answer.text!r} does not match its context at {answer.start}, which reads {context[answer.start : end]!r}"
    return None


def _is_text(text: str) -> bool:
    """Whether `text` is Unicode text: JSON's `\\uD800`-`\\uDFFF` escapes decode to lone surrogates, which are not."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _first_problem(examples: Iterable[QAExample]) -> str | None:
    """The first problem among the examples (most as ``question 'ID': ...``), or None when all are valid."""
    seen: set[str] = set()
    for example in examples:
        if example.id in seen:
            return f"question {example.id!r}: duplicate id"
        seen.add(example.id)
        if not example.answers:
            return f"question {example.id!r}: no answers (SQuAD v2.0 unanswerable questions are not supported)"
        texts = (example.context, example.question, *(answer.text for answer in example.answers))
        if not all(_is_text(text) for text in texts):
            return (
                f"question {example.id!r}: a lone surrogate in its text (a JSON escape such as \\ud83d, half of a "
                "character), which no tokenizer reads"
            )
        for number, answer in enumerate(example.answers):
            problem = _answer_problem(example.context, number, answer)
            if problem is not None:
                return f"question {example.id!r}: {problem}"
    return None if seen else "no questions found"


def check_examples(examples: list[QAExample], source: object) -> list[QAExample]:
    """Return `examples` if there are any, every answer span matches its context and ids are unique; else raise
    one DataError naming `source` (a file, or a Hub spec) and the question id."""
    problem = _first_problem(examples)
    if problem is not None:
        raise DataError(source, problem)
    return examples


def _items(parent: Any, key: str, where: str, path: PathLike) -> list[Any]:
    """``parent[key]`` when `parent` is an object holding a list there; else a DataError naming `where`."""
    if not isinstance(parent, dict) or not isinstance(parent.get(key), list):
        raise DataError(path, f"{where}: no {key!r} list; {_SHAPE}")
    return parent[key]


def _answer(record: Any, question_id: str, number: int, path: PathLike) -> Answer:
    """One ``{"text", "answer_start"}`` record as an Answer."""
    start = record.get("answer_start") if isinstance(record, dict) else None
    if not isinstance(record, dict) or not isinstance(record.get("text"), str) or type(start) is not int:
        raise DataError(
            path, f"question {question_id!r}: answer {number} needs a 'text' string and an integer 'answer_start'"
        )
    return Answer(record["text"], start)


def _question(record: Any, context: str, where: str, path: PathLike) -> QAExample:
    """One ``{"id", "question", "answers"}`` record as a QAExample (spans are checked later)."""
    if not isinstance(record, dict) or not isinstance(record.get("id"), str) or not record["id"]:
        raise DataError(path, f"{where}: no 'id' string; {_SHAPE}")
    question_id = record["id"]
    if not isinstance(record.get("question"), str):
        raise DataError(path, f"question {question_id!r}: no 'question' string")
    answers = record.get("answers")
    if isinstance(answers, dict) and "text" in answers:
        raise DataError(
            path,
            f"question {question_id!r}: answers in the Hub's layout "
            '({"text": [...], "answer_start": [...]}); a SQuAD file lists {"text", "answer_start"} records',
        )
    if not isinstance(answers, list) or not answers:
        raise DataError(
            path, f"question {question_id!r}: no answers (SQuAD v2.0 unanswerable questions are not supported)"
        )
    return QAExample(
        question_id,
        record["question"],
        context,
        tuple(_answer(answer, question_id, number, path) for number, answer in enumerate(answers)),
    )


def read_squad(path: PathLike) -> list[QAExample]:
    """Read a SQuAD v1.1 JSON file (also XQuAD, MLQA, TyDiQA-GoldP) into one QAExample per question, in file
    order. Malformed input raises one DataError naming the file and the question id (or the JSON line)."""
    try:
        document = json.loads("\n".join(read_lines(path)))
    except json.JSONDecodeError as err:
        raise DataError(path, f"not valid JSON: {err.msg}", err.lineno) from err
    examples: list[QAExample] = []
    for a, article in enumerate(_items(document, "data", "top level", path)):
        for p, paragraph in enumerate(_items(article, "paragraphs", f"data[{a}]", path)):
            where = f"data[{a}].paragraphs[{p}]"
            questions = _items(paragraph, "qas", where, path)
            if not isinstance(paragraph.get("context"), str):
                raise DataError(path, f"{where}: no 'context' string; {_SHAPE}")
            examples.extend(
                _question(record, paragraph["context"], f"{where}.qas[{q}]", path) for q, record in enumerate(questions)
            )
    return check_examples(examples, path)


def write_squad(path: PathLike, examples: list[QAExample]) -> None:
    """Write examples as SQuAD v1.1 JSON (one untitled article; consecutive examples that share a context share
    a paragraph), so that read_squad returns them unchanged. Invalid examples raise ValueError, nothing written."""
    problem = _first_problem(examples)
    if problem is not None:
        raise ValueError(f"cannot write {path}: {problem}")
    paragraphs: list[dict[str, Any]] = []
    for example in examples:
        if not paragraphs or paragraphs[-1]["context"] != example.context:
            paragraphs.append({"context": example.context, "qas": []})
        paragraphs[-1]["qas"].append(
            {
                "id": example.id,
                "question": example.question,
                "answers": [{"text": answer.text, "answer_start": answer.start} for answer in example.answers],
            }
        )
    document = {"version": "1.1", "data": [{"title": "", "paragraphs": paragraphs}]}
    Path(path).write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8", newline="\n")
