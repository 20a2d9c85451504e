"""Hub readers: spec parsing, offline failure, and ClassLabel conversion on in-memory datasets (no network)."""
from typing import Any

import pytest

from mbert_eval.data import (
    SentencePair,
    TaggedSentence,
    parse_hub_spec,
    read_hub_pairs,
    read_hub_tagged,
)
from mbert_eval.errors import UserError


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


def fake_hub(monkeypatch: pytest.MonkeyPatch, columns: dict[str, list[Any]], features: Any) -> list[tuple]:
    """Make datasets.load_dataset return an in-memory dataset; returns the recorded call arguments."""
    import datasets

    calls: list[tuple] = []

    def load_dataset(path: str, name: str | None = None, split: str | None = None) -> datasets.Dataset:
        calls.append((path, name, split))
        return datasets.Dataset.from_dict(columns, features=features)

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    return calls


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("hub:google/xtreme@udpos.German:test", ("google/xtreme", "udpos.German", "test")),
        ("hub:xnli@de:validation", ("xnli", "de", "validation")),
        ("hub:google/xtreme@PAN-X.de:validation", ("google/xtreme", "PAN-X.de", "validation")),
        ("hub:some/dataset:train[:10%]", ("some/dataset", None, "train[:10%]")),
    ],
)
def test_parse_hub_spec(spec: str, expected: tuple[str, str | None, str]) -> None:
    assert parse_hub_spec(spec) == expected


@pytest.mark.parametrize("spec", ["xnli@de:validation", "hub:xnli@de", "hub:xnli", "hub:@de:test", "hub:xnli@:test", "hub:x y:test"])
def test_bad_hub_spec_shows_syntax(spec: str) -> None:
    with pytest.raises(UserError, match=r"expected hub:DATASET\[@CONFIG\]:SPLIT"):
        parse_hub_spec(spec)


def test_offline_load_fails_with_one_line_user_error(offline: None) -> None:
    with pytest.raises(UserError) as caught:
        read_hub_pairs("xnli", "de", "validation")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("cannot load Hub dataset 'xnli' (config 'de'): the Hugging Face Hub is not reachable (offline)")
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
    assert calls == [("google/xtreme", "PAN-X.de", "test")]


def test_hub_tagged_missing_column(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_hub(monkeypatch, {"tokens": [["a"]], "pos_tags": [["NOUN"]]}, None)
    with pytest.raises(UserError, match="has no column 'ner_tags'; its columns are tokens, pos_tags"):
        read_hub_tagged("google/xtreme", "udpos.German", "test", "ner_tags")


def test_hub_pairs_xnli_and_pawsx_layouts(monkeypatch: pytest.MonkeyPatch) -> None:
    from datasets import ClassLabel, Features, Value

    nli = Features({"premise": Value("string"), "hypothesis": Value("string"), "label": ClassLabel(names=["entailment", "neutral", "contradiction"])})
    fake_hub(monkeypatch, {"premise": ["P", "Q"], "hypothesis": ["H", "I"], "label": [2, -1]}, nli)
    assert read_hub_pairs("xnli", "de", "validation") == [SentencePair("P", "H", "contradiction"), SentencePair("Q", "I", None)]

    paws = Features({"id": Value("int32"), "sentence1": Value("string"), "sentence2": Value("string"), "label": ClassLabel(names=["0", "1"])})
    fake_hub(monkeypatch, {"id": [1], "sentence1": ["A"], "sentence2": ["B"], "label": [1]}, paws)
    assert read_hub_pairs("google-research-datasets/paws-x", "de", "test") == [SentencePair("A", "B", "1")]


@pytest.mark.parametrize(
    ("error", "offline_mode", "reason"),
    [
        (ConnectionError("Couldn't reach 'xnli' on the Hub"), False, "the Hugging Face Hub is not reachable (offline)"),
        (FileNotFoundError("Dataset 'xnli' is not cached"), True, "the Hugging Face Hub is not reachable (offline)"),
        (FileNotFoundError("Dataset 'nope' doesn't exist on the Hub"), False, "not found on the Hub or in the local cache"),
        (ValueError('Unknown split "dev".\nShould be one of [validation]'), True, 'ValueError: Unknown split "dev".'),
    ],
)
def test_load_failures_become_one_line_user_errors(
    monkeypatch: pytest.MonkeyPatch, error: Exception, offline_mode: bool, reason: str
) -> None:
    import datasets

    def load_dataset(*args: Any, **kwargs: Any) -> None:
        raise error

    set_offline_mode(monkeypatch, offline_mode)
    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    with pytest.raises(UserError) as caught:
        read_hub_pairs("xnli", "de", "dev")
    assert str(caught.value).startswith(f"cannot load Hub dataset 'xnli' (config 'de'): {reason}; ")
    assert "\n" not in str(caught.value) and caught.value.__cause__ is error
