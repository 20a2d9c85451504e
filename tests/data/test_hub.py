"""Hub readers: spec parsing, namespaces, offline failure, revisions, one load per spec, and ClassLabel
conversion on in-memory datasets (no network; the real parquet layout is tests/data/test_hub_layout.py's)."""

import re
from pathlib import Path
from typing import Any

import pytest

from mbert_eval.data import (
    SentencePair,
    TaggedSentence,
    parse_hub_spec,
    read_hub_pairs,
    read_hub_squad,
    read_hub_tagged,
)
from mbert_eval.data.hub import HubSpec, hub_fingerprint
from mbert_eval.errors import UserError
from mbert_eval.languages import all_languages, lookup
from mbert_eval.tasks import TASKS, get_task
from mbert_eval.tasks.base import HUB_KEYS
from tests.helpers import FAKE_COMMIT, fake_hub


def set_offline_mode(monkeypatch: pytest.MonkeyPatch, offline: bool) -> None:
    """Set the Hub's offline flag in both libraries (they read HF_HUB_OFFLINE once, at import)."""
    import datasets.config
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", offline)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", offline)


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Force offline mode even if huggingface_hub was imported before conftest set HF_HUB_OFFLINE."""
    set_offline_mode(monkeypatch, True)


def test_the_hugging_face_caches_are_the_test_sessions_own() -> None:
    import datasets.config
    import huggingface_hub.constants

    from tests.conftest import HF_TEST_HOME

    for cache in (
        datasets.config.HF_DATASETS_CACHE,
        huggingface_hub.constants.HF_HUB_CACHE,
        huggingface_hub.constants.HF_HOME,
    ):
        assert Path(cache).is_relative_to(HF_TEST_HOME), cache


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("hub:google/xtreme@udpos.German:test", ("google/xtreme", "udpos.German", "test", None)),
        ("hub:facebook/xnli@de:validation", ("facebook/xnli", "de", "validation", None)),
        ("hub:google/xtreme@PAN-X.de:validation", ("google/xtreme", "PAN-X.de", "validation", None)),
        (
            "hub:google/xquad@xquad.de:validation#" + FAKE_COMMIT,
            ("google/xquad", "xquad.de", "validation", FAKE_COMMIT),
        ),
        ("hub:rajpurkar/squad:train#refs/convert/parquet", ("rajpurkar/squad", None, "train", "refs/convert/parquet")),
    ],
)
def test_parse_hub_spec(spec: str, expected: tuple[str, str | None, str, str | None]) -> None:
    assert parse_hub_spec(spec) == HubSpec(*expected)


@pytest.mark.parametrize(
    "spec",
    [
        "facebook/xnli@de:validation",
        "hub:facebook/xnli@de",
        "hub:facebook/xnli",
        "hub:@de:test",
        "hub:facebook/xnli@:test",
        "hub:x y:test",
        "hub:a/b:test#",
    ],
)
def test_bad_hub_spec_shows_syntax(spec: str) -> None:
    with pytest.raises(UserError, match=r"expected hub:NAMESPACE/NAME\[@CONFIG\]:SPLIT\[#REVISION\]"):
        parse_hub_spec(spec)


@pytest.mark.parametrize("split", ["train[:10%]", "validation[40%:]", "train+validation", "test[0:10]"])
def test_split_expressions_are_refused_for_row_slices(split: str) -> None:
    """datasets' split arithmetic would pick rows the leakage check cannot see (`grid/leakage.py`); `[a:b]` after
    the spec is the one way to select rows."""
    with pytest.raises(UserError, match=r"a split is one name .* select rows with \[start:stop\] after the spec"):
        parse_hub_spec(f"hub:facebook/xnli@de:{split}")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "hub:xnli@de:test",
            "hub:xnli@de:test: the Hub no longer accepts the bare id 'xnli' (ids are "
            "'namespace/name' now): use 'facebook/xnli'",
        ),
        ("hub:squad:train", "use 'rajpurkar/squad'"),
        ("hub:xquad@xquad.de:validation", "use 'google/xquad'"),
        ("hub:paws-x@de:test", "use 'google-research-datasets/paws-x'"),
        ("hub:mydata:train", "'mydata' is not a Hub dataset id: ids are 'namespace/name', e.g. 'facebook/xnli'"),
        ("hub:a/b/c:train", "'a/b/c' is not a Hub dataset id"),
    ],
)
def test_bare_ids_are_refused_naming_the_namespaced_id(spec: str, message: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_hub_spec(spec)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_reader_refuses_a_bare_id_before_asking_datasets(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_hub(monkeypatch, {"premise": ["P"], "hypothesis": ["H"]})
    with pytest.raises(
        UserError,
        match="^cannot load Hub dataset 'xnli' \\(config 'de'\\): the Hub no longer "
        "accepts the bare id 'xnli' .*: use 'facebook/xnli'$",
    ):
        read_hub_pairs("xnli", "de", "validation")
    assert calls == []


def test_every_built_in_hub_spec_names_a_namespace() -> None:
    specs = {(name, key): getattr(get_task(name).metadata, f"hub_{key}") for name in TASKS for key in HUB_KEYS}
    given = {where: spec for where, spec in specs.items() if spec}
    assert {name for name, _ in given} >= {"pos", "ner", "xnli", "pawsx", "xquad", "mlqa", "tydiqa"}
    for (name, key), spec in given.items():
        for language in all_languages():
            parsed = parse_hub_spec(spec.format(lang=language.code, iso3=language.iso639_3, name=language.name))
            assert parsed.dataset.count("/") == 1, (name, key, spec)


def test_offline_load_fails_with_one_line_user_error(offline: None) -> None:
    with pytest.raises(UserError) as caught:
        read_hub_pairs("facebook/xnli", "de", "validation")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(
        "cannot load Hub dataset 'facebook/xnli' (config 'de'): the Hugging Face Hub is not "
        "reachable (offline) and the dataset is not in the local cache"
    )
    assert "local file" in message and "read_sentence_pairs" in message
    assert caught.value.__cause__ is not None


def test_offline_tagged_load_suggests_local_readers(offline: None) -> None:
    with pytest.raises(UserError, match="read_conllu"):
        read_hub_tagged("google/xtreme", "udpos.German", "test", "pos_tags")


def test_hub_tagged_class_labels_become_names(monkeypatch: pytest.MonkeyPatch) -> None:
    from datasets import ClassLabel, Features, List, Value

    features = Features({"tokens": List(Value("string")), "ner_tags": List(ClassLabel(names=["O", "B-PER", "I-PER"]))})
    calls = fake_hub(monkeypatch, {"tokens": [["Ada", "Lovelace", "schrieb"]], "ner_tags": [[1, 2, 0]]}, features)
    sentences = read_hub_tagged("google/xtreme", "PAN-X.de", "test", "ner_tags")
    assert sentences == [TaggedSentence(("Ada", "Lovelace", "schrieb"), ("B-PER", "I-PER", "O"))]
    assert calls == [("google/xtreme", "PAN-X.de", "test", None)]


def test_hub_tagged_ids_without_names_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy whose card declares no ClassLabel would give tags '0', '1', …, and NER's entity F1 would read no
    entity in them."""
    fake_hub(monkeypatch, {"tokens": [["Ada", "Lovelace", "schrieb"]], "ner_tags": [[1, 2, 0]]})
    with pytest.raises(UserError, match=r"hub:google/xtreme@PAN-X.de: column 'ner_tags' holds tag ids without"):
        read_hub_tagged("google/xtreme", "PAN-X.de", "test", "ner_tags")


def test_hub_tagged_missing_column(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_hub(monkeypatch, {"tokens": [["a"]], "pos_tags": [["NOUN"]]})
    with pytest.raises(UserError, match="has no column 'ner_tags'; its columns are tokens, pos_tags"):
        read_hub_tagged("google/xtreme", "udpos.German", "test", "ner_tags")


def test_hub_pairs_xnli_and_pawsx_layouts(monkeypatch: pytest.MonkeyPatch) -> None:
    from datasets import ClassLabel, Features, Value

    nli = Features(
        {
            "premise": Value("string"),
            "hypothesis": Value("string"),
            "label": ClassLabel(names=["entailment", "neutral", "contradiction"]),
        }
    )
    fake_hub(monkeypatch, {"premise": ["P", "Q"], "hypothesis": ["H", "I"], "label": [2, -1]}, nli)
    assert read_hub_pairs("facebook/xnli", "de", "validation") == [
        SentencePair("P", "H", "contradiction"),
        SentencePair("Q", "I", None),
    ]

    paws = Features(
        {
            "id": Value("int32"),
            "sentence1": Value("string"),
            "sentence2": Value("string"),
            "label": ClassLabel(names=["0", "1"]),
        }
    )
    fake_hub(monkeypatch, {"id": [1], "sentence1": ["A"], "sentence2": ["B"], "label": [1]}, paws)
    assert read_hub_pairs("google-research-datasets/paws-x", "de", "test") == [SentencePair("A", "B", "1")]


def test_hub_pairs_name_the_one_column_that_is_not_text(monkeypatch: pytest.MonkeyPatch) -> None:
    from datasets import Features, TranslationVariableLanguages, Value

    features = Features({"premise": Value("string"), "hypothesis": TranslationVariableLanguages(languages=["de"])})
    fake_hub(monkeypatch, {"premise": ["P"], "hypothesis": [{"de": "H"}]}, features)
    with pytest.raises(UserError, match=r"column 'hypothesis' holds TranslationVariableLanguages, not one text a row"):
        read_hub_pairs("facebook/xnli", "all_languages", "test")


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        # a sentence as one string: its characters were read as its tokens
        ({"tokens": ["ab"], "pos_tags": [["X", "Y"]]}, "column 'tokens' holds Value('string'), not a list of strings"),
        # one tag string a sentence: its characters were read as the tags
        ({"tokens": [["a", "b"]], "pos_tags": ["XY"]}, "column 'pos_tags' holds Value('string'), not a list of tags"),
        # numbers as tokens: a tokenizer traceback
        (
            {"tokens": [[1, 2]], "pos_tags": [["X", "Y"]]},
            "column 'tokens' holds List(Value('int64')), not a list of strings",
        ),
    ],
)
def test_hub_tagged_refuse_columns_that_would_be_misread(
    monkeypatch: pytest.MonkeyPatch, columns: dict[str, list[Any]], message: str
) -> None:
    fake_hub(monkeypatch, columns)
    with pytest.raises(UserError, match=re.escape(f"Hub dataset 'google/xtreme' (config 'udpos.German'): {message}")):
        read_hub_tagged("google/xtreme", "udpos.German", "test", "pos_tags")


def test_hub_squad_refuses_a_context_that_is_not_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """A context per language (a dict) failed with a TypeError where its answer span was checked."""
    answers = [{"text": ["b"], "answer_start": [1]}]
    fake_hub(monkeypatch, {"id": ["1"], "question": ["q"], "context": [{"de": "ab", "en": "ab"}], "answers": answers})
    with pytest.raises(UserError, match=r"column 'context' holds dict, not one text a row"):
        read_hub_squad("google/xquad", "xquad.de", "validation")


def test_a_pinned_revision_reaches_datasets_and_the_fingerprint(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_hub(monkeypatch, {"premise": ["P"], "hypothesis": ["H"]})
    task = get_task("xnli")
    assert task.load(task.spec("test", lookup("de"))) == [SentencePair("P", "H", None)]
    assert calls == [("facebook/xnli", "de", "test", None)]
    read_hub_pairs("facebook/xnli", "de", "test", "v1.0")
    assert calls[-1] == ("facebook/xnli", "de", "test", "v1.0")
    assert hub_fingerprint("hub:facebook/xnli@de:test") == f"facebook/xnli@de#{FAKE_COMMIT}"


def test_each_spec_is_loaded_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_hub(monkeypatch, {"premise": ["P"], "hypothesis": ["H"]})
    for _ in range(2):
        read_hub_pairs("facebook/xnli", "de", "test")
    hub_fingerprint("hub:facebook/xnli@de:test")
    assert len(calls) == 1
    hub_fingerprint("hub:facebook/xnli@en:test")  # a spec not read yet is loaded (once) to be fingerprinted
    assert calls == [("facebook/xnli", "de", "test", None), ("facebook/xnli", "en", "test", None)]


@pytest.mark.parametrize(
    ("error", "offline_mode", "reason"),
    [
        (
            ConnectionError("Couldn't reach 'facebook/xnli' on the Hub"),
            False,
            "the Hugging Face Hub is not reachable (offline) and the dataset is not in the local cache",
        ),
        (
            FileNotFoundError("Dataset 'facebook/xnli' is not cached"),
            True,
            "the Hugging Face Hub is not reachable (offline) and the dataset is not in the local cache",
        ),
        (
            FileNotFoundError("Dataset 'facebook/xnli' doesn't exist on the Hub or cannot be accessed."),
            False,
            "FileNotFoundError: Dataset 'facebook/xnli' doesn't exist on the Hub or cannot be accessed.",
        ),
        (ValueError('Unknown split "dev".\nShould be one of [validation]'), True, 'ValueError: Unknown split "dev".'),
    ],
)
def test_load_failures_become_one_line_user_errors(
    monkeypatch: pytest.MonkeyPatch, error: Exception, offline_mode: bool, reason: str
) -> None:
    import datasets

    def load_dataset_builder(*args: Any, **kwargs: Any) -> None:
        raise error

    set_offline_mode(monkeypatch, offline_mode)
    monkeypatch.setattr(datasets, "load_dataset_builder", load_dataset_builder)
    with pytest.raises(UserError) as caught:
        read_hub_pairs("facebook/xnli", "de", "dev")
    assert str(caught.value).startswith(f"cannot load Hub dataset 'facebook/xnli' (config 'de'): {reason}; ")
    assert "\n" not in str(caught.value) and caught.value.__cause__ is error


def test_validate_refuses_a_bare_hub_id_in_a_config(tmp_path) -> None:
    from mbert_eval.config.loading import load_experiment
    from mbert_eval.grid.resolve import validate
    from tests.helpers import write_config

    config = write_config(
        tmp_path / "xnli.yaml",
        {
            "models": ["bert-base-multilingual-cased"],
            "targets": ["de"],
            "tasks": {"xnli": {"test": "hub:xnli@{lang}:test"}},
        },
    )
    experiment, problems = load_experiment(config)
    assert validate(experiment, problems) == [
        "tasks.xnli.test: hub:xnli@de:test: the Hub no longer accepts the bare id 'xnli' (ids are 'namespace/name' "
        "now): use 'facebook/xnli'"
    ]
