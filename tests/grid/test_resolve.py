"""A grid resolved once (`grid.resolve`): each task built and each data spec parsed once per run, whatever the
number of cells; the worker gets the resolved task; `validate` and `run` refuse the same problems."""

from __future__ import annotations

import pickle
from collections import Counter

from mbert_eval.config.experiment import stable_hash
from mbert_eval.config.loading import load_experiment
from mbert_eval.data.spec import DataSpec
from mbert_eval.grid import resolve as resolve_module
from mbert_eval.grid.job import CellJob
from mbert_eval.grid.resolve import build_tasks, resolve
from mbert_eval.grid.run import run_experiment
from mbert_eval.languages import lookup
from mbert_eval.metrics.outputs import Scores
from mbert_eval.store.results import ResultStore
from mbert_eval.tasks import build_task
from mbert_eval.tasks.base import Prepared
from mbert_eval.tasks.tagging import POSTask
from tests.helpers import cell_keys, family_experiment, run_cli, write_config


def test_a_run_builds_each_task_once_and_parses_each_spec_once(tmp_path, small_family, tiny_model, monkeypatch):
    """2 seeds x 2 methods x 1 task: 4 cells, one task object (built in the resolution, handed to every job),
    each (spec, language) parsed once over validation, planning and the cells."""
    raw = family_experiment(small_family, tiny_model, seeds=[1, 2], methods=["baseline", "freeze1"])
    raw["tasks"].pop("paraphrase")
    experiment, _ = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    built, parsed, jobs = [], Counter(), []

    def counting_build(name, config, base_dir):
        built.append(name)
        return build_task(name, config, base_dir)

    original_parse = DataSpec.parse.__func__

    def counting_parse(cls, text, language=None, base_dir=None):
        parsed[text, language.code if language else None] += 1
        return original_parse(cls, text, language, base_dir)

    def seen(job: CellJob) -> None:
        jobs.append(job)

    monkeypatch.setattr(resolve_module, "build_task", counting_build)
    monkeypatch.setattr(DataSpec, "parse", classmethod(counting_parse))
    # the cells' fine-tuning is not what is counted here: a stand-in head and scores
    monkeypatch.setattr(POSTask, "prepare", lambda self, spec, train, dev, settings, device: Prepared(None, None))
    monkeypatch.setattr(
        POSTask, "evaluate", lambda self, prepared, examples, device, progress=None: Scores({"accuracy": 0.5})
    )
    import mbert_eval.grid.executors.local as local

    original_run = local.run_cell
    monkeypatch.setattr(local, "run_cell", lambda job: (seen(job), original_run(job))[1])

    summary = run_experiment(experiment)
    assert summary.cells_run == 4
    assert built == ["pos"]
    assert parsed and set(parsed.values()) == {1}, parsed
    assert len({id(job.task) for job in jobs}) == 1  # the resolved task object, not one rebuilt per cell
    store = ResultStore(experiment.store_path)
    assert {row.cell_key for row in store.rows()} == {job.key for job in jobs}
    assert {job.key for job in jobs} == set(cell_keys(experiment).values())
    # a job holds what its worker needs, not the experiment: nothing of it is pickled to a worker
    assert all(b"Experiment" not in pickle.dumps(job) for job in jobs)
    assert {(job.store, job.checkpoints) for job in jobs} == {
        (experiment.store_path, experiment.output_dir / "checkpoints")
    }


def test_resolving_reads_each_models_config_once(tmp_path, small_family, tiny_model, monkeypatch):
    """The checks that need a model's depth or position table (a freeze option, the align step's layer, the
    windows) read it off the facts read once per model, not each from the folder again."""
    from mbert_eval.models import specs

    raw = family_experiment(small_family, tiny_model, methods=["baseline", "freeze1", "align"])
    base, other, links = small_family.parallel(small_family.languages[1].code)
    raw["parallel"] = {"source": str(base), "target": str(other), "alignments": str(links)}
    experiment, problems = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    read = Counter()
    original = specs._read_config

    def counting_read(path):
        read[path] += 1
        return original(path)

    monkeypatch.setattr(specs, "_read_config", counting_read)
    specs._folder_facts.cache_clear()  # facts read earlier in this process (`model_facts` reads a folder once)
    assert resolve(experiment, problems).problems == []
    assert read == {tiny_model / "config.json": 1}


def test_resolved_cells_carry_key_method_and_settings(tmp_path, small_family, tiny_model):
    raw = family_experiment(small_family, tiny_model, seeds=[1, 2], methods=["baseline", "freeze1"])
    experiment, problems = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    grid = resolve(experiment, problems)
    assert grid.problems == [] and set(grid.tasks) == {"pos", "paraphrase"}
    assert len(grid.cells) == 8 and grid.evaluations == 8 * len(small_family.languages[1:])
    for resolved in grid.cells:
        assert resolved.key == stable_hash(resolved.identity)
        assert resolved.settings.method.name == resolved.cell.method
        assert resolved.settings.seed == resolved.cell.seed
    assert grid.examples_checked == {"pos", "paraphrase"}  # local data: checked once, here, not in the workers


def _unknown_label(small_family, tmp_path) -> str:
    """A copy of the paraphrase test files whose one target has a label training never has."""
    target = small_family.languages[1].code
    folder = tmp_path / "pairs"
    folder.mkdir()
    for language in small_family.languages:
        text = (small_family.root / "pairs" / f"{language.code}-test.tsv").read_text(encoding="utf-8")
        if language.code == target:
            lines = text.rstrip("\n").split("\n")
            cells = lines[-1].split("\t")
            lines[-1] = "\t".join([*cells[:-1], "7"])
            text = "\n".join(lines) + "\n"
        (folder / f"{language.code}-test.tsv").write_text(text, encoding="utf-8")
    return str(folder / "{lang}-test.tsv")


def test_validate_and_run_refuse_the_same_problems(tmp_path, small_family, tiny_model):
    """Two problems of different kinds (an option the task does not take; test labels training never has):
    `validate` lists both, `run` refuses the first of the same list and runs nothing."""
    raw = family_experiment(small_family, tiny_model)
    raw["tasks"]["pos"]["layer"] = 3
    raw["tasks"]["paraphrase"]["test"] = _unknown_label(small_family, tmp_path)
    config = write_config(tmp_path / "exp.yaml", raw)
    checked = run_cli("validate", config)
    assert checked.exit_code == 2
    problems = [line.removeprefix(f"{config}: ") for line in checked.stderr.strip().splitlines()]
    assert len(problems) == 2 and "no option 'layer'" in problems[0] and "'7'" in problems[1]
    ran = run_cli("run", config, "--no-report")
    assert ran.exit_code == 2
    assert ran.stderr.strip() == f"Error: {problems[0]} (and 1 more; see `mbert-eval validate`)"
    experiment, _ = load_experiment(config)
    assert not experiment.store_path.exists() or ResultStore(experiment.store_path).rows() == []


def test_a_cells_identity_is_its_key_model_data_and_task_version(tmp_path, small_family, tiny_model):
    """What freshness compares stored rows with: the key, the model's content, each target's local files (the
    source's train/dev and its own test) and the task's version, which is not part of the key."""
    from mbert_eval.grid.freshness import identity_now
    from mbert_eval.models.fingerprint import model_fingerprint

    raw = family_experiment(small_family, tiny_model)
    experiment, problems = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    grid = resolve(experiment, problems)
    resolved = next(r for r in grid.cells if r.cell.task == "pos")
    task = grid.tasks["pos"]
    identity = identity_now(resolved.key, resolved.cell, task, model_fingerprint(resolved.cell.model))
    assert identity.key == resolved.key and identity.task_version == task.metadata.version
    assert set(identity.data) == set(resolved.cell.targets)
    target = resolved.cell.targets[0]
    assert sorted(spec.rsplit("/", 1)[-1] for spec in identity.data[target]) == sorted(
        [f"{resolved.cell.source}-train.conllu", f"{resolved.cell.source}-dev.conllu", f"{target}-test.conllu"]
    )
    assert "version" not in str(resolved.identity)


def test_resolving_parses_each_data_file_once_per_task(tmp_path, small_family, tiny_model, monkeypatch):
    """The checks read a file for its examples, for its slice and for the leakage check: three parses of each
    PUD file in a methods grid. Within a resolution each task parses each file once; the examples are let go
    after it (a cell reads its files itself)."""
    raw = family_experiment(small_family, tiny_model)
    raw["tasks"]["pos"]["test"] += "[0:20]"  # a slice, measured by reading the file
    experiment, problems = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    parsed = Counter()

    def counting(original):
        def read_file(self, path):
            parsed[type(self).__name__, str(path)] += 1
            return original(self, path)

        return read_file

    for task_class in {type(task) for task in build_tasks(experiment).values()}:
        monkeypatch.setattr(task_class, "read_file", counting(task_class.read_file))
    grid = resolve(experiment, problems)
    assert grid.problems == [] and parsed and max(parsed.values()) == 1, parsed
    task = grid.tasks["pos"]
    task.target_examples(lookup(grid.cells[0].cell.targets[0]))
    assert max(parsed.values()) == 2  # outside a resolution, a read is a read
