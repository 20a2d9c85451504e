"""Load tagging, sentence-pair and extractive QA datasets from the Hugging Face Hub (or its local cache) via ``datasets``.

Offline behaviour: with ``HF_HUB_OFFLINE=1`` a dataset that is not cached fails at once. Without it and
without a network, huggingface_hub 2.x retries the first request with backoff (about 25 s) before failing;
it offers no setting to turn those retries off, so set ``HF_HUB_OFFLINE=1`` on machines without network.
"""
import re
from typing import TYPE_CHECKING, Any

from mbert_eval.data.squad import check_examples
from mbert_eval.data.types import Answer, QAExample, SentencePair, TaggedSentence
from mbert_eval.errors import DataError, UserError

if TYPE_CHECKING:
    from datasets import Dataset

HUB_SPEC_SYNTAX = "hub:DATASET[@CONFIG]:SPLIT, e.g. hub:xnli@de:validation or hub:google/xtreme@udpos.German:test"
_HUB_SPEC = re.compile(r"hub:(?P<dataset>[^@:\s]+)(?:@(?P<config>[^@:\s]+))?:(?P<split>\S+)")
_PAIR_COLUMNS = (("premise", "hypothesis"), ("sentence1", "sentence2"))
_TAGGED_HINT = "a CoNLL-U file read by read_conllu or a NER file read by read_ner"
_PAIRS_HINT = "a TSV read by read_sentence_pairs"
_QA_HINT = "a SQuAD v1.1 JSON file read by read_squad"
_QA_COLUMNS = ("id", "question", "context", "answers")


def parse_hub_spec(spec: str) -> tuple[str, str | None, str]:
    """Split ``hub:DATASET[@CONFIG]:SPLIT`` into (dataset, config or None, split)."""
    match = _HUB_SPEC.fullmatch(spec.strip())
    if match is None:
        raise UserError(f"bad Hub dataset spec {spec!r}; expected {HUB_SPEC_SYNTAX}")
    return match["dataset"], match["config"], match["split"]


def _describe(dataset: str, config: str | None) -> str:
    """``'xnli' (config 'de')`` for messages."""
    return f"{dataset!r}" + (f" (config {config!r})" if config else "")


def _failure_reason(err: BaseException) -> str:
    """One-line reason for a failed load: offline, not found, or the error's first line."""
    from huggingface_hub import constants

    chain: list[BaseException] = []
    cause: BaseException | None = err
    while cause is not None and cause not in chain:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    unreachable = any(isinstance(e, ConnectionError) for e in chain)
    not_found = any(isinstance(e, FileNotFoundError) for e in chain)
    if unreachable or (not_found and constants.is_offline_mode()):
        return "the Hugging Face Hub is not reachable (offline)"
    if not_found:
        return "not found on the Hub or in the local cache"
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0]}" if text else type(err).__name__


def hub_fingerprint(location: str) -> str:
    """What a Hub data spec (`hub:…`) resolved to, recorded in each row where a local file records its SHA-256:
    the dataset repository, config and revision (commit sha) the Hub supplied."""
    return "hub"


def _load(dataset: str, config: str | None, split: str, local_hint: str) -> "Dataset":
    """``datasets.load_dataset`` with every failure turned into a one-line UserError."""
    import datasets

    try:
        return datasets.load_dataset(dataset, config, split=split)
    except Exception as err:  # the library boundary: network, cache, config and split errors alike
        raise UserError(
            f"cannot load Hub dataset {_describe(dataset, config)}: {_failure_reason(err)}; "
            f"download it elsewhere or pass a local file instead, e.g. {local_hint}"
        ) from err


def _require_columns(rows: "Dataset", columns: tuple[str, ...], dataset: str, config: str | None) -> None:
    """Raise UserError unless every column is present."""
    missing = [column for column in columns if column not in rows.column_names]
    if missing:
        raise UserError(
            f"Hub dataset {_describe(dataset, config)} has no column {', '.join(map(repr, missing))}; "
            f"its columns are {', '.join(rows.column_names)}"
        )


def _class_names(feature: Any) -> list[str] | None:
    """Label names of a ClassLabel feature, or of the ClassLabel inside a sequence feature; else None."""
    from datasets import ClassLabel

    inner = getattr(feature, "feature", feature)
    return list(inner.names) if isinstance(inner, ClassLabel) else None


def read_hub_tagged(dataset: str, config: str | None, split: str, tag_column: str) -> list[TaggedSentence]:
    """Read a token-tagging split (columns ``tokens`` and ``tag_column``); ClassLabel ids become tag names.

    E.g. ``google/xtreme`` config ``udpos.German`` with ``pos_tags``, or ``PAN-X.de`` with ``ner_tags``.
    """
    rows = _load(dataset, config, split, _TAGGED_HINT)
    _require_columns(rows, ("tokens", tag_column), dataset, config)
    names = _class_names(rows.features[tag_column])
    return [
        TaggedSentence(tuple(tokens), tuple(names[tag] if names else str(tag) for tag in tags))
        for tokens, tags in zip(rows["tokens"], rows[tag_column])
    ]


def read_hub_pairs(dataset: str, config: str | None, split: str) -> list[SentencePair]:
    """Read a sentence-pair split: premise/hypothesis (XNLI) or sentence1/sentence2 (PAWS-X).

    A ``label`` column is optional; ClassLabel ids become names and -1 (unlabeled) becomes None.
    """
    rows = _load(dataset, config, split, _PAIRS_HINT)
    text_columns = next((pair for pair in _PAIR_COLUMNS if set(pair) <= set(rows.column_names)), _PAIR_COLUMNS[0])
    _require_columns(rows, text_columns, dataset, config)
    firsts, seconds = rows[text_columns[0]], rows[text_columns[1]]
    if "label" not in rows.column_names:
        return [SentencePair(first, second, None) for first, second in zip(firsts, seconds)]
    names = _class_names(rows.features["label"])
    labels = [None if label is None or label == -1 else names[label] if names else str(label) for label in rows["label"]]
    return [SentencePair(first, second, label) for first, second, label in zip(firsts, seconds, labels)]


def _hub_answers(answers: Any, question_id: str, source: str) -> tuple[Answer, ...]:
    """A ``{"text": [...], "answer_start": [...]}`` answers record as Answers."""
    texts = answers.get("text") if isinstance(answers, dict) else None
    starts = answers.get("answer_start") if isinstance(answers, dict) else None
    if not isinstance(texts, list) or not isinstance(starts, list) or len(texts) != len(starts):
        raise DataError(source, f"question {question_id!r}: 'answers' needs equally long 'text' and 'answer_start' lists")
    if not all(isinstance(text, str) for text in texts) or not all(type(start) is int for start in starts):
        raise DataError(source, f"question {question_id!r}: answer texts must be strings and answer_start integers")
    return tuple(Answer(text, start) for text, start in zip(texts, starts))


def read_hub_squad(dataset: str, config: str | None, split: str) -> list[QAExample]:
    """Read an extractive QA split in the Hub's SQuAD layout (columns id, question, context and answers as
    ``{"text": [...], "answer_start": [...]}``), checked exactly as read_squad checks a file.

    E.g. ``google/xtreme`` config ``MLQA.de.de`` split ``test``, ``xquad`` config ``xquad.de`` split
    ``validation``, ``google/xtreme`` config ``tydiqa`` split ``validation``.
    """
    rows = _load(dataset, config, split, _QA_HINT)
    _require_columns(rows, _QA_COLUMNS, dataset, config)
    source = f"hub:{dataset}" + (f"@{config}" if config else "") + f":{split}"
    examples = [
        QAExample(str(question_id), question, context, _hub_answers(answers, str(question_id), source))
        for question_id, question, context, answers in zip(*(rows[column] for column in _QA_COLUMNS))
    ]
    return check_examples(examples, source)
