"""Load tagging, sentence-pair and extractive QA datasets from the Hugging Face Hub (or its local cache) via ``datasets``.

Offline behaviour: with ``HF_HUB_OFFLINE=1`` a dataset that is not cached fails at once. Without it and
without a network, huggingface_hub 2.x retries the first request with backoff (about 25 s) before failing;
it offers no setting to turn those retries off, so set ``HF_HUB_OFFLINE=1`` on machines without network.

Where it reads from: ``datasets`` reads a local folder named like the repository (``google/xtreme``, relative
to the current directory) before the Hub, then the Hub (at the spec's ``#REVISION`` if pinned), then, offline,
its cache. Each spec is loaded once per process; `hub_fingerprint` says which of these supplied it.
"""

import functools
import hashlib
import os
import re
from typing import TYPE_CHECKING, Any, NamedTuple

from mbert_eval.data.checksums import file_checksum
from mbert_eval.data.squad import check_examples
from mbert_eval.data.types import Answer, QAExample, SentencePair, TaggedSentence
from mbert_eval.errors import DataError, UserError

if TYPE_CHECKING:
    from datasets import Dataset, DatasetBuilder

HUB_SPEC_SYNTAX = (
    "hub:NAMESPACE/NAME[@CONFIG]:SPLIT[#REVISION], e.g. hub:facebook/xnli@de:validation or "
    "hub:google/xtreme@udpos.German:test#<commit sha, branch or tag>"
)
_HUB_SPEC = re.compile(
    r"hub:(?P<dataset>[^@:#\s]+)(?:@(?P<config>[^@:#\s]+))?:(?P<split>[^#\s]+)(?:#(?P<revision>[^#\s]+))?"
)
_SPLIT_NAME = re.compile(r"\w+(?:\.\w+)*")  # what `datasets` accepts as a split's name
# legacy ids without a namespace, which the Hub now refuses (huggingface/datasets#8612), and the repos
# they used to redirect to (lm-evaluation-harness #3846/#3852 moved to the same ids)
NAMESPACED = {
    "xnli": "facebook/xnli",
    "squad": "rajpurkar/squad",
    "xquad": "google/xquad",
    "xtreme": "google/xtreme",
    "paws-x": "google-research-datasets/paws-x",
}
_PAIR_COLUMNS = (("premise", "hypothesis"), ("sentence1", "sentence2"))
UNREACHABLE = "the Hugging Face Hub is not reachable (offline) and the dataset is not in the local cache"
_TAGGED_HINT = "a CoNLL-U file read by read_conllu or a NER file read by read_ner"
_PAIRS_HINT = "a TSV read by read_sentence_pairs"
_QA_HINT = "a SQuAD v1.1 JSON file read by read_squad"
_QA_COLUMNS = ("id", "question", "context", "answers")
_ONE_TEXT = "one text a row"


class HubSpec(NamedTuple):
    """A parsed `hub:` data spec: repository id, config, split and an optional pinned revision."""

    dataset: str
    config: str | None
    split: str
    revision: str | None = None

    def __str__(self) -> str:
        """The spec as written: ``hub:REPO[@CONFIG]:SPLIT[#REVISION]``."""
        config, revision = f"@{self.config}" if self.config else "", f"#{self.revision}" if self.revision else ""
        return f"hub:{self.dataset}{config}:{self.split}{revision}"


# each spec loaded in this process: its rows and what they resolved to (loaded once, reused by hub_fingerprint)
_loaded: dict[HubSpec, tuple["Dataset", str]] = {}


def namespace_problem(dataset: str) -> str | None:
    """Why `dataset` is not a Hub repository id (`namespace/name`), naming the namespaced id where one is known;
    None when it is one."""
    parts = dataset.split("/")
    if len(parts) == 2 and all(parts):
        return None
    if dataset in NAMESPACED:
        return (
            f"the Hub no longer accepts the bare id {dataset!r} (ids are 'namespace/name' now): "
            f"use {NAMESPACED[dataset]!r}"
        )
    return f"{dataset!r} is not a Hub dataset id: ids are 'namespace/name', e.g. 'facebook/xnli'"


def parse_hub_spec(spec: str) -> HubSpec:
    """Split ``hub:NAMESPACE/NAME[@CONFIG]:SPLIT[#REVISION]`` into a HubSpec; a bad spec or an id without a
    namespace is a one-line UserError."""
    match = _HUB_SPEC.fullmatch(spec.strip())
    if match is None:
        raise UserError(f"bad Hub dataset spec {spec!r}; expected {HUB_SPEC_SYNTAX}")
    problem = namespace_problem(match["dataset"])
    if problem:
        raise UserError(f"{spec.strip()}: {problem}")
    if not _SPLIT_NAME.fullmatch(match["split"]):
        raise UserError(
            f"{spec.strip()}: a split is one name (e.g. validation), got {match['split']!r}; select rows with "
            "[start:stop] after the spec (…:validation[0:1000]): datasets' split arithmetic (train+validation, "
            "percentages) is not read, as the train/test leakage check could not tell which rows it takes"
        )
    return HubSpec(match["dataset"], match["config"], match["split"], match["revision"])


def hub_spec_problem(spec: str) -> str | None:
    """What is wrong with a `hub:` spec as written (syntax, namespace), without loading it; None when fine."""
    try:
        parse_hub_spec(spec)
    except UserError as err:
        return str(err)
    return None


def hub_dataset_problem(spec: str) -> str | None:
    """For a well-formed `hub:` spec, the problem of loading its dataset (None: a local folder of that name,
    which ``datasets`` reads first, the local Hugging Face cache, or the Hub knows it), as `load_hub` would find it
    when the run starts. What `validate` checks."""
    parsed = parse_hub_spec(spec)
    if os.path.isdir(parsed.dataset):  # read before the Hub: its configs and splits are checked as a run loads them
        import datasets

        try:
            builder = datasets.load_dataset_builder(parsed.dataset, parsed.config)
        except Exception as err:  # the library boundary: a config the folder lacks, unreadable files
            return f"cannot load Hub dataset {_describe(parsed.dataset, parsed.config)}: {_failure_reason(err)}"
        return _builder_problem(parsed, builder)
    from huggingface_hub import constants, try_to_load_from_cache

    if isinstance(try_to_load_from_cache(parsed.dataset, "README.md", repo_type="dataset"), str):
        return None
    reason = _hub_answer(parsed.dataset, parsed.revision, constants.is_offline_mode())
    if reason is None:
        return None
    return (
        f"cannot load Hub dataset {_describe(parsed.dataset, parsed.config)}: {reason}; "
        "download it elsewhere or pass a local file instead"
    )


@functools.cache
def _hub_answer(dataset: str, revision: str | None, offline: bool) -> str | None:
    """Why the Hub cannot give `dataset` (None: it knows it), asked once per dataset and process with a short
    timeout (`offline`: the mode it was asked in, part of the answer)."""
    from huggingface_hub import HfApi

    try:
        HfApi().dataset_info(dataset, revision=revision, timeout=10)
    except Exception as err:  # noqa: BLE001 - any failure (no network, offline mode, no such repo) is the answer
        kind = type(err).__name__
        if "NotFound" in kind:
            return f"no dataset {dataset!r} on the Hub"
        if any(word in kind for word in ("Connect", "Offline", "Timeout")):
            return UNREACHABLE
        return _failure_reason(err)
    return None


def _describe(dataset: str, config: str | None) -> str:
    """``'facebook/xnli' (config 'de')`` for messages."""
    return f"{dataset!r}" + (f" (config {config!r})" if config else "")


def _failure_reason(err: BaseException) -> str:
    """One-line reason for a failed load: offline and not cached, or the error's first line (which names the
    cause: a repository, config, split or revision that does not exist)."""
    from huggingface_hub import constants

    chain: list[BaseException] = []
    cause: BaseException | None = err
    while cause is not None and cause not in chain:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    unreachable = any(isinstance(e, ConnectionError) for e in chain)
    not_found = any(isinstance(e, FileNotFoundError) for e in chain)
    if unreachable or (not_found and constants.is_offline_mode()):
        return UNREACHABLE
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0]}" if text else type(err).__name__


def hub_fingerprint(location: str) -> str:
    """What a Hub data spec (`hub:…`) resolved to, recorded in each row where a local file records its SHA-256:
    ``REPO@CONFIG#COMMIT`` as the Hub (or the cache it filled) supplied it, or, for a local folder of that name
    (which ``datasets.load_dataset`` reads before the Hub), ``local folder REPO@CONFIG sha256:…`` of its data
    files. The spec is loaded once per process (`load_hub`), so this costs nothing after a read."""
    spec = parse_hub_spec(location)
    if spec not in _loaded:
        load_hub(spec, "the task's local file format")
    return _loaded[spec][1]


def _builder_problem(spec: HubSpec, builder: "DatasetBuilder") -> str | None:
    """What is wrong with loading `spec` from its builder, before any row is read (what `validate` asks of a local
    folder, and `load_hub` of every spec): a split the data files do not name, or a split without a config whose
    files lie in several folders (a repository whose README declares no configs, one folder per language:
    ``datasets`` reads them all as one split, the languages mixed), or a pinned revision that a local folder of
    the repository's name answers (``datasets`` reads the folder whatever the pin: its rows would record the
    folder's hash, not the revision)."""
    if spec.revision and os.path.isdir(spec.dataset):
        return (
            f"{spec} pins revision {spec.revision!r}, but the local folder {spec.dataset} answers this "
            "name before the Hub, and a folder has no revisions; drop the revision to read the folder, or move the "
            "folder to read the Hub's"
        )
    files = builder.config.data_files or {}
    named = [part.split("[")[0] for part in spec.split.split("+")]
    unknown = [split for split in named if files and split not in files]
    if unknown:
        return (
            f"Hub dataset {_describe(spec.dataset, spec.config)} has no split {unknown[0]!r}; "
            f"its splits are {', '.join(sorted(files))}"
        )
    folders = sorted({os.path.basename(os.path.dirname(str(path))) for split in named for path in files.get(split, [])})
    if spec.config is None and len(folders) > 1:
        shown = ", ".join(folders[:5]) + (", …" if len(folders) > 5 else "")
        return (
            f"Hub dataset {spec.dataset}: the spec names no config, and its {named[0]} files lie in {len(folders)} "
            f"folders ({shown}), which would be read as one split, their languages mixed; name one, e.g. "
            f"hub:{spec.dataset}@{folders[0]}:{spec.split}"
        )
    return None


def _data_files_digest(builder: "DatasetBuilder", split: str) -> str:
    """SHA-256 over the names and SHA-256s of the data files a builder read for `split` (every split's, for a
    split expression the data files do not name, e.g. `train+validation`)."""
    files = builder.config.data_files or {}
    paths = sorted(files.get(split) or [path for listed in files.values() for path in listed])
    digest = hashlib.sha256()
    for path in paths:
        digest.update(f"{os.path.basename(path)}\0{file_checksum(path)}\n".encode())
    return digest.hexdigest()


def _resolved(spec: HubSpec, builder: "DatasetBuilder") -> str:
    """`hub_fingerprint`'s text for a loaded spec: repository, config and commit (or local folder and hash).
    A builder's `hash` is the commit the Hub resolved the revision to (datasets 5 fixes it once per load, and
    names the cache folder by it); loaded from the cache offline, it is that cached folder's commit."""
    named = spec.dataset + (f"@{spec.config}" if spec.config else "")
    if os.path.isdir(spec.dataset):  # the rule datasets applies: a local folder of that name wins over the Hub
        return f"local folder {named} sha256:{_data_files_digest(builder, spec.split.split('[')[0])}"
    from_cache = type(builder).__module__.startswith("datasets.packaged_modules.cache")
    return f"{named}#{builder.hash}" + (" (from the local cache, offline)" if from_cache else "")


def load_hub(spec: HubSpec, local_hint: str) -> "Dataset":
    """The rows of a Hub split, through ``datasets`` (builder → download_and_prepare → as_dataset, what
    ``load_dataset`` does), once per process; every failure becomes a one-line UserError."""
    if spec not in _loaded:
        import datasets

        problem = namespace_problem(spec.dataset)
        if problem:
            raise UserError(f"cannot load Hub dataset {_describe(spec.dataset, spec.config)}: {problem}")
        try:
            builder = datasets.load_dataset_builder(spec.dataset, spec.config, revision=spec.revision)
            problem = _builder_problem(spec, builder)
            if problem is None:
                builder.download_and_prepare()
                rows = builder.as_dataset(split=spec.split)
        except Exception as err:  # the library boundary: network, cache, config and split errors alike
            raise UserError(
                f"cannot load Hub dataset {_describe(spec.dataset, spec.config)}: {_failure_reason(err)}; "
                f"download it elsewhere or pass a local file instead, e.g. {local_hint}"
            ) from err
        if problem is not None:
            raise UserError(problem)
        _loaded[spec] = (rows, _resolved(spec, builder))
    return _loaded[spec][0]


def _require_columns(rows: "Dataset", columns: tuple[str, ...], dataset: str, config: str | None) -> None:
    """Raise UserError unless every column is present."""
    missing = [column for column in columns if column not in rows.column_names]
    if missing:
        raise UserError(
            f"Hub dataset {_describe(dataset, config)} has no column {', '.join(map(repr, missing))}; "
            f"its columns are {', '.join(rows.column_names)}"
        )


def _feature_name(feature: Any) -> str:
    """A column's feature as messages show it: ``Value('int64')``, ``List(Value('string'))``, ``Translation``."""
    from datasets import Value

    if isinstance(feature, Value):
        return f"Value({feature.dtype!r})"
    inner = getattr(feature, "feature", None)
    return type(feature).__name__ + (f"({_feature_name(inner)})" if inner is not None else "")


def _is_text(feature: Any) -> bool:
    """Whether a column's feature is one string a row."""
    from datasets import Value

    return isinstance(feature, Value) and feature.dtype in ("string", "large_string")


def _is_list(feature: Any) -> bool:
    """Whether a column's feature is a list a row (`List`, what `Sequence` builds, or `LargeList`)."""
    from datasets import LargeList, List

    return isinstance(feature, (List, LargeList))


def _require_feature(
    rows: "Dataset", column: str, fits: bool, expected: str, dataset: str, config: str | None, way_out: str = ""
) -> None:
    """Raise UserError naming the column and its feature unless it `fits` (else the values would be misread:
    a string's characters taken for tokens, or a dict handed on as text)."""
    if not fits:
        raise UserError(
            f"Hub dataset {_describe(dataset, config)}: column {column!r} holds "
            f"{_feature_name(rows.features[column])}, not {expected}" + (f"; {way_out}" if way_out else "")
        )


def _class_names(feature: Any) -> list[str] | None:
    """Label names of a ClassLabel feature, or of the ClassLabel inside a sequence feature; else None."""
    from datasets import ClassLabel

    inner = getattr(feature, "feature", feature)
    return list(inner.names) if isinstance(inner, ClassLabel) else None


def read_hub_tagged(
    dataset: str, config: str | None, split: str, tag_column: str, revision: str | None = None
) -> list[TaggedSentence]:
    """Read a token-tagging split (columns ``tokens`` and ``tag_column``); ClassLabel ids become tag names.

    E.g. ``google/xtreme`` config ``udpos.German`` with ``pos_tags``, or ``PAN-X.de`` with ``ner_tags``.
    """
    rows = load_hub(HubSpec(dataset, config, split, revision), _TAGGED_HINT)
    _require_columns(rows, ("tokens", tag_column), dataset, config)
    tokens, tags = rows.features["tokens"], rows.features[tag_column]
    _require_feature(
        rows, "tokens", _is_list(tokens) and _is_text(tokens.feature), "a list of strings", dataset, config
    )
    _require_feature(rows, tag_column, _is_list(tags), "a list of tags", dataset, config)
    names = _class_names(tags)
    if names is None and any(not isinstance(tag, str) for tags in rows[tag_column] for tag in tags):
        raise DataError(
            f"hub:{dataset}" + (f"@{config}" if config else ""),
            f"column {tag_column!r} holds tag ids without their names (no ClassLabel feature in the dataset's "
            "card), which would be scored as tags named '0', '1', …; use a copy whose card names them",
        )
    return [
        TaggedSentence(tuple(tokens), tuple(names[tag] if names else tag for tag in tags))
        for tokens, tags in zip(rows["tokens"], rows[tag_column])
    ]


def read_hub_pairs(dataset: str, config: str | None, split: str, revision: str | None = None) -> list[SentencePair]:
    """Read a sentence-pair split: premise/hypothesis (XNLI) or sentence1/sentence2 (PAWS-X).

    A ``label`` column is optional; ClassLabel ids become names and -1 (unlabeled) becomes None.
    """
    rows = load_hub(HubSpec(dataset, config, split, revision), _PAIRS_HINT)
    text_columns = next((pair for pair in _PAIR_COLUMNS if set(pair) <= set(rows.column_names)), _PAIR_COLUMNS[0])
    _require_columns(rows, text_columns, dataset, config)
    for column in text_columns:
        _require_feature(
            rows,
            column,
            _is_text(rows.features[column]),
            _ONE_TEXT,
            dataset,
            config,
            "read a config with one language's text instead, e.g. hub:facebook/xnli@de",
        )
    firsts, seconds = rows[text_columns[0]], rows[text_columns[1]]
    if "label" not in rows.column_names:
        return [SentencePair(first, second, None) for first, second in zip(firsts, seconds)]
    names = _class_names(rows.features["label"])
    labels = [
        None if label is None or label == -1 else names[label] if names else str(label) for label in rows["label"]
    ]
    return [SentencePair(first, second, label) for first, second, label in zip(firsts, seconds, labels)]


def _hub_answers(answers: Any, question_id: str, source: str) -> tuple[Answer, ...]:
    """A ``{"text": [...], "answer_start": [...]}`` answers record as Answers."""
    texts = answers.get("text") if isinstance(answers, dict) else None
    starts = answers.get("answer_start") if isinstance(answers, dict) else None
    if not isinstance(texts, list) or not isinstance(starts, list) or len(texts) != len(starts):
        raise DataError(
            source, f"question {question_id!r}: 'answers' needs equally long 'text' and 'answer_start' lists"
        )
    if not all(isinstance(text, str) for text in texts) or not all(type(start) is int for start in starts):
        raise DataError(source, f"question {question_id!r}: answer texts must be strings and answer_start integers")
    return tuple(Answer(text, start) for text, start in zip(texts, starts))


def read_hub_squad(dataset: str, config: str | None, split: str, revision: str | None = None) -> list[QAExample]:
    """Read an extractive QA split in the Hub's SQuAD layout (columns id, question, context and answers as
    ``{"text": [...], "answer_start": [...]}``), checked exactly as read_squad checks a file.

    E.g. ``google/xtreme`` config ``MLQA.de.de`` split ``test``, ``google/xquad`` config ``xquad.de`` split
    ``validation``, ``google/xtreme`` config ``tydiqa`` split ``validation``.
    """
    rows = load_hub(HubSpec(dataset, config, split, revision), _QA_HINT)
    _require_columns(rows, _QA_COLUMNS, dataset, config)
    for column in ("question", "context"):
        _require_feature(rows, column, _is_text(rows.features[column]), _ONE_TEXT, dataset, config)
    source = str(HubSpec(dataset, config, split, revision))
    examples = [
        QAExample(str(question_id), question, context, _hub_answers(answers, str(question_id), source))
        for question_id, question, context, answers in zip(*(rows[column] for column in _QA_COLUMNS))
    ]
    return check_examples(examples, source)
