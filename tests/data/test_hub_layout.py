"""The real Hub path, offline: tiny copies of the Hub repositories (tests/fixtures/hub, written by its
make_fixtures.py in the converted repos' layout) read through datasets' load_dataset_builder → parquet → Features →
the suite's readers, and a whole `mbert-eval run` of every Hub-default task on them. `datasets` reads a local
folder named like the repository (relative to the current directory) before the Hub; the caches are the test
session's own (conftest), so nothing here depends on what this machine downloaded before."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from mbert_eval.data import SentencePair, TaggedSentence, read_hub_pairs, read_hub_squad, read_hub_tagged
from mbert_eval.data.hub import hub_fingerprint
from mbert_eval.errors import UserError
from mbert_eval.languages import lookup
from mbert_eval.store import ResultStore
from mbert_eval.tasks import get_task
from tests.helpers import FIXTURES as HELPER_FIXTURES
from tests.helpers import write_config

FIXTURES = HELPER_FIXTURES / "hub"
DEFAULT_TASKS = ("pos", "ner", "xnli", "pawsx", "xquad", "mlqa", "tydiqa")


@pytest.fixture
def in_fixtures(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The current directory is the fixtures folder, where `google/xtreme` etc. are local folders."""
    monkeypatch.chdir(FIXTURES)
    return FIXTURES


def test_a_local_folder_named_like_the_repo_is_read_and_fingerprinted_by_content(in_fixtures: Path) -> None:
    assert read_hub_tagged("google/xtreme", "udpos.German", "test", "pos_tags")[0] == TaggedSentence(
        ("Die", "Katze", "schläft", "."), ("DET", "NOUN", "VERB", "PUNCT")
    )  # ClassLabel ids → UPOS names
    data = in_fixtures / "google/xtreme/udpos.German/test-00000-of-00001.parquet"
    digest = hashlib.sha256(f"{data.name}\0{hashlib.sha256(data.read_bytes()).hexdigest()}\n".encode()).hexdigest()
    assert (
        hub_fingerprint("hub:google/xtreme@udpos.German:test")
        == f"local folder google/xtreme@udpos.German sha256:{digest}"
    )
    assert hub_fingerprint("hub:google/xtreme@udpos.German:train") != hub_fingerprint(
        "hub:google/xtreme@udpos.German:test"
    )


def test_every_layout_reads_through_its_real_features(in_fixtures: Path) -> None:
    assert read_hub_tagged("google/xtreme", "PAN-X.de", "test", "ner_tags")[1].tags == (
        "B-ORG",
        "O",
        "O",
        "O",
        "O",
        "B-LOC",
        "O",
    )
    assert read_hub_pairs("facebook/xnli", "de", "test")[1] == SentencePair(
        "Ein Mann spielt Gitarre .", "Ein Mann schläft .", "contradiction"
    )
    assert read_hub_pairs("google-research-datasets/paws-x", "de", "test")[1].label == "1"
    squad = read_hub_squad("rajpurkar/squad", "plain_text", "train")
    assert squad[0].answers[0].text == "London" and squad[0].answers[0].start == 25
    assert read_hub_squad("google/xquad", "xquad.de", "validation")[0].question == "Wo wurde Ada Lovelace geboren ?"
    assert len(read_hub_squad("google/xtreme", "MLQA.de.de", "test")) == 2


def test_hub_pairs_refuse_a_config_that_holds_every_language_in_one_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """facebook/xnli's `all_languages` config holds each premise in every language as one Translation (a dict) and
    the hypotheses as a TranslationVariableLanguages; read as text, a pair was two dicts and the encoding a
    transformers traceback. Read through datasets' parquet path, as a local folder named like the repository."""
    from datasets import ClassLabel, Dataset, Features, Translation, TranslationVariableLanguages

    features = Features(
        {
            "premise": Translation(languages=["de", "en"]),
            "hypothesis": TranslationVariableLanguages(languages=["de", "en"]),
            "label": ClassLabel(names=["entailment", "neutral", "contradiction"]),
        }
    )
    rows = {"premise": [{"de": "Ein Mann.", "en": "A man."}], "hypothesis": [{"de": "Eine Person.", "en": "A person."}]}
    folder = tmp_path / "facebook/xnli"
    (folder / "all_languages").mkdir(parents=True)
    Dataset.from_dict({**rows, "label": [0]}, features=features).to_parquet(
        str(folder / "all_languages/test-00000-of-00001.parquet")
    )
    card = "---\nconfigs:\n- config_name: all_languages\n  data_files:\n  - split: test\n    path: all_languages/test-*\n---\n"
    (folder / "README.md").write_text(card, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError) as caught:
        read_hub_pairs("facebook/xnli", "all_languages", "test")
    assert str(caught.value) == (
        "Hub dataset 'facebook/xnli' (config 'all_languages'): column 'premise' holds Translation, not one text a "
        "row; read a config with one language's text instead, e.g. hub:facebook/xnli@de"
    )


def test_tydiqa_scores_each_target_on_its_own_questions(in_fixtures: Path) -> None:
    task = get_task("tydiqa")
    arabic, finnish = (task.target_examples(lookup(code)) for code in ("ar", "fi"))
    assert [example.id.split("-")[0] for example in arabic] == ["arabic"] * 2
    assert [example.id.split("-")[0] for example in finnish] == ["finnish"] * 3
    assert str(task.spec("test", lookup("ar"))) == "hub:google/xtreme@tydiqa:validation (only ar)"
    assert task.metadata.version == 3  # 2: per-language questions; 3: the last epoch kept
    with pytest.raises(
        UserError,
        match=r"^no ko questions in hub:google/xtreme@tydiqa:validation \(TyDiQA ids "
        r"name their language; these name ar, en, fi\)$",
    ):
        task.target_examples(lookup("ko"))


def test_a_tydiqa_slice_counts_the_languages_own_questions(in_fixtures: Path) -> None:
    from mbert_eval.config.experiment import TaskConfig

    task = get_task("tydiqa", TaskConfig(test="hub:google/xtreme@tydiqa:validation[1:]"))
    assert [example.id for example in task.target_examples(lookup("fi"))] == ["finnish-7007-1", "finnish-7007-2"]
    task = get_task("tydiqa", TaskConfig(test="hub:google/xtreme@tydiqa:validation[5:]"))
    with pytest.raises(
        UserError,
        match=r"^no examples in hub:google/xtreme@tydiqa:validation \(only ar\)\[5:\] "
        r"\(it holds 2 ar questions\)$",
    ):
        task.target_examples(lookup("ar"))


@pytest.mark.slow
def test_a_run_of_every_hub_default_task_on_the_hub_layout(tmp_path: Path, tiny_model: Path) -> None:
    """`mbert-eval run` on a config that names no data files: every task reads its Hub defaults."""
    config = write_config(
        tmp_path / "hub.yaml",
        {
            "name": "hub-defaults",
            "models": [str(tiny_model)],
            "sources": ["en"],
            "targets": ["de"],
            "seeds": [1],
            "output": str(tmp_path / "out"),
            "training": {"learning_rate": 1e-3, "batch_size": 4, "max_length": 64, "epochs": 1},
            "tasks": {name: ({"targets": ["ar", "fi"]} if name == "tydiqa" else {}) for name in DEFAULT_TASKS},
        },
    )
    done = subprocess.run(
        [sys.executable, "-m", "mbert_eval.cli", "run", "--no-report", str(config)],
        cwd=FIXTURES,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = ResultStore(tmp_path / "out" / "results.sqlite").rows()
    assert {row.task for row in rows} == set(DEFAULT_TASKS)
    tests = {
        "pos": "google/xtreme@udpos.German:test",
        "ner": "google/xtreme@PAN-X.de:test",
        "xnli": "facebook/xnli@de:test",
        "pawsx": "google-research-datasets/paws-x@de:test",
        "xquad": "google/xquad@xquad.de:validation",
        "mlqa": "google/xtreme@MLQA.de.de:test",
    }
    for row in rows:
        provenance = row.data_checksums
        test = tests.get(row.task, "google/xtreme@tydiqa:validation")
        key = f"hub:{test}" + (f" (only {row.target})" if row.task == "tydiqa" else "")
        assert provenance[key].startswith(f"local folder {test.rsplit(':', 1)[0]} sha256:"), (row.task, provenance)
        if row.task in ("xquad", "mlqa", "tydiqa"):  # trained on SQuAD
            assert provenance["hub:rajpurkar/squad@plain_text:train"].startswith(
                "local folder rajpurkar/squad@plain_text sha256:"
            )
    by_target = {row.target: row for row in rows if row.task == "tydiqa" and row.metric == "f1"}
    assert {code: row.n_examples for code, row in by_target.items()} == {"ar": 2, "fi": 3}
    assert "hub:google/xtreme@tydiqa:validation (only ar)" in by_target["ar"].data_checksums
    assert by_target["ar"].data_checksums != by_target["fi"].data_checksums


@pytest.mark.hub_check
@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_hub_dataset_neither_local_nor_cached_is_refused_offline_by_validate_as_by_run(
    in_fixtures: Path, tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """Offline, a `hub:` spec of a dataset with no local folder of its name and nothing in the (test session's)
    cache is one line from `validate` too (it passed, and `run` refused it when the cell started); a local
    folder named like the repository passes."""
    import huggingface_hub.constants

    from tests.helpers import run_cli

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    raw = {
        "name": "hub",
        "models": [str(tiny_model)],
        "sources": ["en"],
        "targets": ["de"],
        "output": str(tmp_path / "out"),
        "tasks": {"xnli": {"train": "hub:someone/absent-xnli@en:train", "test": "hub:facebook/xnli@{lang}:test"}},
    }
    result = run_cli(command, str(write_config(tmp_path / "hub.yaml", raw)))
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if "absent-xnli" in line]
    assert (
        len(lines) == 1
        and "tasks.xnli.train: cannot load Hub dataset 'someone/absent-xnli' (config 'en'): " in lines[0]
    )
    assert "not reachable (offline) and the dataset is not in the local cache" in lines[0]
    assert "facebook/xnli" not in result.stderr  # read from the local folder of that name
    assert not (tmp_path / "out" / "results.sqlite").exists()


def test_a_split_whose_files_lie_in_several_folders_needs_a_config(tmp_path: Path, monkeypatch) -> None:
    """A repository of one folder per language and no `configs:` in a README: `datasets` reads every folder's
    validation files as one split, so `hub:ns/pairs:validation` got both languages' rows mixed; it is refused,
    naming the folders and a config to name."""
    import pandas as pd

    for code, premise in (("de", "Ein Mann ."), ("en", "A man .")):
        folder = tmp_path / "ns" / "pairs" / code
        folder.mkdir(parents=True)
        rows = pd.DataFrame({"premise": [premise], "hypothesis": [premise], "label": [0]})
        rows.to_parquet(folder / "validation-00000-of-00001.parquet")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match=r"names no config, and its validation files lie in 2 folders \(de, en\)"):
        read_hub_pairs("ns/pairs", None, "validation")


def test_validate_checks_a_local_folders_configs_and_splits_as_a_run_loads_them(in_fixtures: Path) -> None:
    """`validate` said OK for any spec of a local folder named like the repository; a split or config it lacks
    then failed the run. It is found before, with the same words the run would use (validate = run)."""
    from mbert_eval.data.hub import hub_dataset_problem, load_hub, parse_hub_spec

    assert hub_dataset_problem("hub:facebook/xnli@de:test") is None
    problem = hub_dataset_problem("hub:facebook/xnli@de:dev")
    assert problem is not None and "has no split 'dev'; its splits are " in problem
    with pytest.raises(UserError) as refused:
        load_hub(parse_hub_spec("hub:facebook/xnli@de:dev"), "x")
    assert str(refused.value) == problem
    missing = hub_dataset_problem("hub:facebook/xnli@xx:test")
    assert missing is not None and missing.startswith("cannot load Hub dataset 'facebook/xnli' (config 'xx'): ")


def test_a_pinned_revision_that_a_local_folder_answers_is_refused_by_validate_and_the_run(in_fixtures: Path) -> None:
    """`datasets` reads a local folder named like the repository before the Hub, whatever revision the spec
    pins: `hub:facebook/xnli@de:test#v1.0` read the folder, and its rows recorded the folder's hash, not v1.0. The
    pin cannot hold there: refused, in the same words by `validate` and by the run."""
    from mbert_eval.data.hub import hub_dataset_problem, load_hub, parse_hub_spec

    problem = hub_dataset_problem("hub:facebook/xnli@de:test#v1.0")
    assert problem is not None
    assert "pins revision 'v1.0'" in problem and "local folder facebook/xnli" in problem
    with pytest.raises(UserError) as refused:
        load_hub(parse_hub_spec("hub:facebook/xnli@de:test#v1.0"), "x")
    assert str(refused.value) == problem
    assert hub_dataset_problem("hub:facebook/xnli@de:test") is None
