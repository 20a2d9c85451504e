"""Content identity (issue 20): a stored cell is checked against the content it was computed from. A model
folder retrained in place, a test file rewritten in place or a task whose version was bumped recomputes the
affected cells, says why on stderr and keeps the replaced rows in `superseded`; unchanged content (a file
only touched) computes nothing and hashes only the touched file; rows of older stores, which record no
fingerprint or version, are not recomputed for that alone."""

from __future__ import annotations

import dataclasses
import importlib
import shutil
import sqlite3
from pathlib import Path

import pytest
import torch

from mbert_eval.config.loading import load_experiment
from mbert_eval.grid.cells import expand
from mbert_eval.grid.freshness import PARALLEL, Staleness, identity_now, stale_against
from mbert_eval.grid.run import run_experiment
from mbert_eval.methods import derived_checkpoint
from mbert_eval.methods.base import MethodContext, StepSettings
from mbert_eval.models.fingerprint import content_files, model_fingerprint
from mbert_eval.store.results import ResultStore
from mbert_eval.tasks.tagging import POSTask
from tests.helpers import FIXTURES, family_experiment, write_config

checksums = importlib.import_module("mbert_eval.data.checksums")  # the package exports a function of that name


@pytest.fixture
def grid(tmp_path, small_family, tiny_model):
    """A POS grid of one cell (two targets) on copies of the tiny model and the family's treebanks, run once;
    returns its config path."""
    model = shutil.copytree(tiny_model, tmp_path / "ckpt")
    data = shutil.copytree(small_family.root / "pos", tmp_path / "pos")
    raw = family_experiment(small_family, model)
    raw["tasks"] = {"pos": {kind: f"{data}/{{lang}}-{kind}.conllu" for kind in ("train", "dev", "test")}}
    config = write_config(tmp_path / "exp.yaml", raw)
    experiment, problems = load_experiment(config)
    assert problems == []
    assert run_experiment(experiment).cells_run == 1
    return config


def retrain_in_place(folder: Path) -> None:
    """New weights in the same folder, as a training run rewriting its `latest/` does."""
    from transformers import BertForMaskedLM

    model = BertForMaskedLM.from_pretrained(folder)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.5 * torch.randn_like(parameter))
    model.save_pretrained(folder)


def rerun(config: Path, capsys) -> tuple[object, list[str]]:
    """Run the grid again; its summary and the lines it said on stderr that say what is recomputed."""
    capsys.readouterr()
    experiment, _ = load_experiment(config)
    summary = run_experiment(experiment)
    return summary, [line for line in capsys.readouterr().err.splitlines() if line.endswith(": recomputing")]


def test_model_retrained_in_place_is_recomputed_and_old_rows_kept(grid, capsys):
    experiment, _ = load_experiment(grid)
    store = ResultStore(experiment.store_path)
    before = store.rows()
    model = experiment.models[0]
    assert {row.model_fingerprint for row in before} == {model_fingerprint(model)}
    assert {row.task_version for row in before} == {POSTask.metadata.version}

    retrain_in_place(Path(model))
    summary, err = rerun(grid, capsys)
    assert summary.cells_run == 1 and summary.rows_written == 4
    assert f"model {model} changed since its 4 rows were stored: recomputing" in err
    after = store.rows()
    assert {row.model_fingerprint for row in after} == {model_fingerprint(model)} != {before[0].model_fingerprint}
    assert [row.score for row in after] != [row.score for row in before]
    history = store.superseded()
    assert sorted((row.target, row.metric, row.score) for row, _, _ in history) == sorted(
        (row.target, row.metric, row.score) for row in before
    )
    assert all(reason.startswith("model changed: ") and when for _, reason, when in history)

    summary, err = rerun(grid, capsys)
    assert (summary.cells_run, summary.cells_skipped, err) == (0, 1, [])


def test_test_file_rewritten_in_place_recomputes_that_target_only(grid, capsys):
    experiment, _ = load_experiment(grid)
    store = ResultStore(experiment.store_path)
    [cell] = expand(experiment)
    changed, kept = cell.targets
    before = {row.target: row for row in store.rows()}
    test_file = Path(experiment.tasks["pos"].test.format(lang=changed))
    sentences = test_file.read_text(encoding="utf-8").split("\n\n")
    test_file.write_text("\n\n".join(sentences[:20]).strip() + "\n\n", encoding="utf-8")

    summary, err = rerun(grid, capsys)
    assert summary.cells_run == 1
    assert err == [f"test data {test_file} ({changed}) changed since its 2 rows were stored: recomputing"]
    after = {row.target: row for row in store.rows()}
    assert after[changed].n_examples == 20 and before[changed].n_examples == 40
    assert after[kept].created_at == before[kept].created_at  # the other target was not recomputed
    assert {row.target for row, _, _ in store.superseded()} == {changed}


def test_touched_files_are_hashed_again_but_nothing_is_recomputed(grid, capsys, monkeypatch):
    """A new process knows no checksum but the store's: it hashes only the file whose mtime changed."""
    experiment, _ = load_experiment(grid)
    weights = Path(experiment.models[0]) / "model.safetensors"
    test_file = Path(experiment.tasks["pos"].test.format(lang=expand(experiment)[0].targets[0]))
    hashed: list[Path] = []
    original = checksums._sha256

    def counting(path):
        hashed.append(Path(path).resolve())
        return original(path)

    monkeypatch.setattr(checksums, "_sha256", counting)
    monkeypatch.setattr(checksums, "_cache", {})  # as a new process
    summary, err = rerun(grid, capsys)
    assert (summary.cells_run, hashed, err) == (0, [], [])

    monkeypatch.setattr(checksums, "_cache", {})
    for path in (weights, test_file):
        path.touch()
    summary, err = rerun(grid, capsys)
    assert (summary.cells_run, err) == (0, [])
    assert sorted(hashed) == sorted([weights.resolve(), test_file.resolve()])
    known = ResultStore(experiment.store_path).file_hashes()
    state = weights.stat()
    assert (str(weights.resolve()), state.st_size, state.st_mtime_ns, state.st_ctime_ns, state.st_ino) in known


def test_a_bumped_task_version_recomputes_its_rows(grid, capsys, monkeypatch):
    version = POSTask.metadata.version
    monkeypatch.setattr(POSTask, "metadata", dataclasses.replace(POSTask.metadata, version=version + 1))
    summary, err = rerun(grid, capsys)
    assert summary.cells_run == 1
    assert err == [f"task pos is version {version + 1} now, its rows are version {version}: recomputing"]
    experiment, _ = load_experiment(grid)
    assert {row.task_version for row in ResultStore(experiment.store_path).rows()} == {version + 1}


def test_rows_that_record_no_fingerprint_are_not_recomputed_for_it(grid, capsys):
    """As rows of a store written before fingerprints: the model changed, but nothing says so."""
    experiment, _ = load_experiment(grid)
    with sqlite3.connect(experiment.store_path) as conn:
        conn.execute("UPDATE results SET model_fingerprint = NULL")
    retrain_in_place(Path(experiment.models[0]))
    summary, err = rerun(grid, capsys)
    assert (summary.cells_run, err) == (0, [])


def test_the_old_store_opens_and_its_rows_are_not_stale_for_missing_fingerprints(tmp_path, grid):
    path = tmp_path / "old.sqlite"
    shutil.copy(FIXTURES / "store-2026-12-03.sqlite", path)
    rows = ResultStore(path).rows(task="pos")
    assert rows and {(row.model_fingerprint, row.task_version) for row in rows} == {(None, None)}
    experiment, _ = load_experiment(grid)
    [cell] = expand(experiment)
    key = rows[0].cell_key
    # the fixture's rows stand for this cell's: its model, and none of that machine's data files (whose content
    # differs from this grid's, which would make them stale for that alone)
    stored = [dataclasses.replace(row, model=cell.model, data_checksums={}) for row in rows if row.cell_key == key]
    cell = dataclasses.replace(cell, targets=tuple({row.target for row in stored}))
    first = POSTask(experiment.tasks["pos"], experiment.base_dir)  # pos as it was then: version 1
    first.metadata = dataclasses.replace(POSTask.metadata, version=1)
    fingerprint = model_fingerprint(cell.model)
    now = identity_now(key, cell, first, fingerprint)
    assert stale_against(now, cell, first, stored, Staleness()) == {}
    bumped = POSTask(experiment.tasks["pos"], experiment.base_dir)
    bumped.metadata = dataclasses.replace(POSTask.metadata, version=2)
    found = Staleness()
    now = identity_now(key, cell, bumped, fingerprint)
    assert set(stale_against(now, cell, bumped, stored, found)) == set(cell.targets)
    assert found.lines() == ["task pos is version 2 now, its rows are version 1: recomputing"]


def test_a_derived_checkpoint_is_rebuilt_when_its_base_changed(tmp_path, grid):
    experiment, _ = load_experiment(grid)
    base = experiment.models[0]
    context = MethodContext(StepSettings.of(experiment), "qaa", 1, tmp_path / "checkpoints", "cpu")
    first = derived_checkpoint("scratch", base, context)
    assert derived_checkpoint("scratch", base, context) == first
    retrain_in_place(Path(base))
    assert derived_checkpoint("scratch", base, context) != first


def test_the_fingerprint_reads_weights_tokenizer_and_config_only(tmp_path, tiny_model):
    folder = shutil.copytree(tiny_model, tmp_path / "model")
    before = model_fingerprint(str(folder))
    assert {"config.json", "model.safetensors"} <= {path.name for path in content_files(folder)}
    (folder / "README.md").write_text("a model card\n", encoding="utf-8")
    (folder / "trainer_state.json").write_text("{}\n", encoding="utf-8")
    assert model_fingerprint(str(folder)) == before
    config = folder / "config.json"
    config.write_text(config.read_text(encoding="utf-8").replace("}", ', "note": 1}', 1), encoding="utf-8")
    assert model_fingerprint(str(folder)) != before


def test_a_hub_name_is_fingerprinted_by_its_cached_commit(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    assert model_fingerprint("org/encoder") == "org/encoder"
    refs = tmp_path / "models--org--encoder" / "refs"
    refs.mkdir(parents=True)
    (refs / "main").write_text("0123abcd\n", encoding="utf-8")
    assert model_fingerprint("org/encoder") == "org/encoder@0123abcd"


@pytest.mark.slow
def test_a_scheduled_job_on_a_fixed_folder_re_evaluates_it_when_retrained(tmp_path, small_family, tiny_model):
    """A nightly job on a training run's `latest/`: the next slot evaluates it again once its weights changed."""
    from mbert_eval.schedule.history import History
    from tests.helpers import Clock, invoke, utc, write_jobs

    raw = family_experiment(small_family, tiny_model)
    raw["tasks"].pop("paraphrase")
    write_config(tmp_path / "exp.yaml", raw)
    latest = shutil.copytree(tiny_model, tmp_path / "ckpts" / "latest")
    jobs_path = write_jobs(tmp_path, models=["ckpts/latest"], thresholds={})
    clock = Clock(utc(2026, 3, 1, 1, 0))
    assert invoke(clock, "run-due", str(jobs_path)).exit_code == 0
    clock.now = utc(2026, 3, 1, 2, 30)
    assert invoke(clock, "run-due", str(jobs_path)).exit_code == 0  # unchanged: nothing to compute
    retrain_in_place(latest)
    clock.now = utc(2026, 3, 2, 2, 30)
    result = invoke(clock, "run-due", str(jobs_path))
    assert result.exit_code == 0, result.output
    runs = History(tmp_path / "schedule.sqlite").runs("nightly")
    assert [run.cells_run for run in reversed(runs)] == [1, 0, 1]


def test_parallel_text_rewritten_recomputes_the_cells_of_methods_that_read_it(
    tmp_path, small_family, tiny_model, capsys
):
    """A TLM cell's scores come from a checkpoint derived from the parallel text: rewriting that text makes its
    rows stale (they record the text's checksums), as a rewritten test file does. Rows of a method that reads no
    parallel text record none and stay."""
    codes = [language.code for language in small_family.languages]
    parallel = shutil.copytree(small_family.root / "parallel", tmp_path / "parallel")
    raw = family_experiment(small_family, tiny_model, methods=["baseline", "tlm"], targets=codes[1:2])
    raw["tasks"].pop("paraphrase")
    side = parallel / f"{codes[0]}-{codes[1]}.{codes[1]}"
    raw["parallel"] = {
        "source": str(parallel / f"{codes[0]}-{{lang}}.{codes[0]}"),
        "target": str(parallel / "{src}-{lang}.{lang}"),
    }
    raw["tlm"] = {"steps": 2, "batch_size": 8, "max_length": 64}
    config = write_config(tmp_path / "exp.yaml", raw)
    experiment, problems = load_experiment(config)
    assert problems == [] and run_experiment(experiment).cells_run == 2
    store = ResultStore(experiment.store_path)
    recorded = {row.method: row.data_checksums for row in store.rows()}
    assert PARALLEL + str(side) in recorded["tlm"] and not any(
        spec.startswith(PARALLEL) for spec in recorded["baseline"]
    )

    lines = side.read_text(encoding="utf-8").splitlines()
    side.write_text("\n".join(lines[1:] + lines[:1]) + "\n", encoding="utf-8")  # the pairs no longer translate
    summary, err = rerun(config, capsys)
    assert (summary.cells_run, summary.cells_skipped) == (1, 1)
    assert err == [f"parallel text {side} changed since its 2 rows were stored: recomputing"]
    assert {row.method for row, _, _ in store.superseded()} == {"tlm"}

    # a target added to the grid (no part of the key) brings its parallel text into the TLM checkpoint
    # (`parallel.languages` defaults to the targets): the stored TLM rows are stale, the baseline's are not
    raw["targets"] = codes[1:3]
    write_config(tmp_path / "exp.yaml", raw)
    summary, err = rerun(config, capsys)
    assert summary.cells_run == 2  # both cells score the new target
    assert err == ["the parallel text of tlm changed languages or files since its 2 rows were stored: recomputing"]
    assert {(row.method, row.target) for row, _, _ in store.superseded()} == {("tlm", codes[1])}


def test_a_test_file_rewritten_while_its_cell_runs_is_recomputed_by_the_next_run(grid, capsys, monkeypatch):
    """The rows record the checksums of the files as the cell read them (taken before reading), so a file
    rewritten while the cell fine-tunes is no longer taken for the data that was scored."""
    experiment, _ = load_experiment(grid)
    [cell] = expand(experiment)
    test_file = Path(experiment.tasks["pos"].test.format(lang=cell.targets[0]))
    prepare = POSTask.prepare

    def rewrite_while_training(self, *args, **kwargs):
        sentences = test_file.read_text(encoding="utf-8").split("\n\n")
        test_file.write_text("\n\n".join(sentences[:20]).strip() + "\n\n", encoding="utf-8")
        return prepare(self, *args, **kwargs)

    monkeypatch.setattr(POSTask, "prepare", rewrite_while_training)
    assert run_experiment(experiment, overwrite=True).cells_run == 1  # scores the 40 sentences it read
    monkeypatch.undo()
    summary, err = rerun(grid, capsys)
    assert summary.cells_run == 1
    assert err == [f"test data {test_file} ({cell.targets[0]}) changed since its 2 rows were stored: recomputing"]
    assert {row.target: row.n_examples for row in ResultStore(experiment.store_path).rows()}[cell.targets[0]] == 20


def test_a_bumped_step_version_rebuilds_its_checkpoint_and_recomputes_its_methods_rows(
    tmp_path, small_family, tiny_model, capsys, monkeypatch
):
    """A method step whose version is raised (it now builds its checkpoint another way) recomputes the rows of
    the methods that run it, from a new checkpoint, and keeps the old rows in `superseded`; a method without
    the step is not touched. Rows that record no step versions (stored before they were recorded) read as
    version 1, so a step at version 1 recomputes nothing."""
    from mbert_eval.methods.base import STEPS

    raw = family_experiment(
        small_family, tiny_model, methods=["baseline", "scratch"], targets=[small_family.languages[1].code]
    )
    raw["tasks"].pop("paraphrase")
    config = write_config(tmp_path / "exp.yaml", raw)
    experiment, problems = load_experiment(config)
    assert problems == [] and run_experiment(experiment).cells_run == 2
    store = ResultStore(experiment.store_path)
    assert {row.method: row.extra.get("step_versions") for row in store.rows()} == {
        "baseline": None,
        "scratch": {"scratch": 1},
    }
    checkpoints = experiment.output_dir / "checkpoints"
    built = sorted(path.name for path in checkpoints.glob("scratch-*") if path.is_dir())
    with sqlite3.connect(experiment.store_path) as conn:  # as a store written before step versions were kept
        conn.execute("UPDATE results SET extra = json_remove(extra, '$.step_versions')")
    summary, err = rerun(config, capsys)
    assert (summary.cells_run, err) == (0, [])

    scratch = STEPS.get("scratch")
    monkeypatch.setitem(STEPS._entries, "scratch", (dataclasses.replace(scratch, version=2), "scratch"))
    summary, err = rerun(config, capsys)
    assert (summary.cells_run, summary.cells_skipped) == (1, 1)
    assert err == ["method step scratch is version 2 now, the 2 rows of scratch were built with version 1: recomputing"]
    assert {row.method for row, _, _ in store.superseded()} == {"scratch"}
    assert {row.method: row.extra.get("step_versions") for row in store.rows()}["scratch"] == {"scratch": 2}
    rebuilt = sorted(path.name for path in checkpoints.glob("scratch-*") if path.is_dir())
    assert len(rebuilt) == 2 and set(built) < set(rebuilt), "version 2's checkpoint is built anew, not reused"
    assert rerun(config, capsys)[0].cells_run == 0


def test_the_same_files_named_from_another_checkout_are_the_same_data(tmp_path, small_family, tiny_model, capsys):
    """A config run from another checkout names the same files by other paths (`a/../parallel/x`,
    `b/../parallel/x`): its stored cells hold (before, the parallel text read as changed languages and the TLM
    cell was recomputed), and a file rewritten since is still found by its name."""
    codes = [language.code for language in small_family.languages]
    shutil.copytree(small_family.root / "parallel", tmp_path / "parallel")
    raw = family_experiment(small_family, tiny_model, methods=["tlm"], targets=codes[1:2])
    raw["tasks"].pop("paraphrase")
    raw["parallel"] = {
        "source": f"../parallel/{codes[0]}-{{lang}}.{codes[0]}",
        "target": "../parallel/{src}-{lang}.{lang}",
    }
    raw["tlm"] = {"steps": 2, "batch_size": 8, "max_length": 64}
    raw["output"] = str(tmp_path / "out")
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
    first, second = (write_config(tmp_path / folder / "exp.yaml", raw) for folder in ("a", "b"))
    experiment, problems = load_experiment(first)
    assert problems == [] and run_experiment(experiment).cells_run == 1
    recorded = ResultStore(experiment.store_path).rows()[0].data_checksums
    assert any(name.startswith(f"{PARALLEL}{tmp_path}/a/../parallel/") for name in recorded), "rows keep the names"

    summary, err = rerun(second, capsys)
    assert (summary.cells_run, summary.cells_skipped, err) == (0, 1, [])
    side = tmp_path / "parallel" / f"{codes[0]}-{codes[1]}.{codes[1]}"
    lines = side.read_text(encoding="utf-8").splitlines()
    side.write_text("\n".join(lines[1:] + lines[:1]) + "\n", encoding="utf-8")
    summary, err = rerun(second, capsys)
    assert summary.cells_run == 1
    assert err == [f"parallel text {side} changed since its 2 rows were stored: recomputing"]


def _run_then_move(tmp_path, raw: dict, capsys) -> tuple:
    """Run the one-cell grid `raw` from `tmp_path/a` (its files relative to it, its output absolute), copy the
    folder to `tmp_path/b` and rerun from there, which finds the cell stored; the experiment and the moved config."""
    raw["output"] = str(tmp_path / "out")
    experiment, problems = load_experiment(write_config(tmp_path / "a" / "exp.yaml", raw))
    assert problems == [] and run_experiment(experiment).cells_run == 1
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    moved = tmp_path / "b" / "exp.yaml"
    summary, err = rerun(moved, capsys)
    assert (summary.cells_run, summary.cells_skipped, err) == (0, 1, [])
    return experiment, moved


def test_a_moved_project_is_compared_by_content(tmp_path, small_family, tiny_model, capsys):
    """Rows name their data files by absolute path. A config that names its data relatively, run from a copy of
    its folder (a moved project, a second checkout sharing the store), reads the same cells from other paths:
    their content is compared. Unchanged, nothing is recomputed; a test file changed in the copy recomputes its
    target (before, files under names the rows did not record were not compared, and the old score stood)."""
    shutil.copytree(small_family.root / "pos", tmp_path / "a" / "pos")
    raw = family_experiment(small_family, tiny_model)
    raw["tasks"] = {"pos": {kind: f"pos/{{lang}}-{kind}.conllu" for kind in ("train", "dev", "test")}}
    experiment, moved = _run_then_move(tmp_path, raw, capsys)

    [cell] = expand(experiment)
    changed, kept = cell.targets
    test_file = tmp_path / "b" / "pos" / f"{changed}-test.conllu"
    sentences = test_file.read_text(encoding="utf-8").split("\n\n")
    test_file.write_text("\n\n".join(sentences[:20]).strip() + "\n\n", encoding="utf-8")
    summary, err = rerun(moved, capsys)
    assert summary.cells_run == 1
    assert err == [f"test data {test_file} ({changed}) changed since its 2 rows were stored: recomputing"]
    rows = {row.target: row for row in ResultStore(experiment.store_path).rows()}
    assert rows[changed].n_examples == 20 and rows[kept].n_examples == 40


def test_a_moved_projects_parallel_text_is_compared_by_content(tmp_path, small_family, tiny_model, capsys):
    """A TLM config naming its parallel text relatively, run from a copy of its folder, reads the same text under
    other names: its cells hold (before, they were recomputed as if the text had changed languages), and a file
    changed in the copy recomputes them."""
    codes = [language.code for language in small_family.languages]
    shutil.copytree(small_family.root / "parallel", tmp_path / "a" / "parallel")
    raw = family_experiment(small_family, tiny_model, methods=["tlm"], targets=codes[1:2])
    raw["tasks"].pop("paraphrase")
    raw["parallel"] = {"source": f"parallel/{codes[0]}-{{lang}}.{codes[0]}", "target": "parallel/{src}-{lang}.{lang}"}
    raw["tlm"] = {"steps": 2, "batch_size": 8, "max_length": 64}
    experiment, moved = _run_then_move(tmp_path, raw, capsys)

    side = tmp_path / "b" / "parallel" / f"{codes[0]}-{codes[1]}.{codes[1]}"
    lines = side.read_text(encoding="utf-8").splitlines()
    side.write_text("\n".join(lines[1:] + lines[:1]) + "\n", encoding="utf-8")
    summary, err = rerun(moved, capsys)
    assert summary.cells_run == 1
    assert err == ["the parallel text of tlm changed languages or files since its 2 rows were stored: recomputing"]


def test_stale_rows_of_targets_a_run_leaves_out_are_set_aside(grid, capsys):
    """A model retrained in place makes every row of its cells stale, whichever targets the next run names: the
    rows of targets it leaves out move to `superseded` too (before, they stayed in `results` beside the new
    model's rows of the same cell, and the report averaged the two models' scores as one)."""
    experiment, _ = load_experiment(grid)
    [cell] = expand(experiment)
    kept, left_out = cell.targets
    retrain_in_place(Path(experiment.models[0]))
    capsys.readouterr()
    narrowed, _ = load_experiment(grid, [f"targets=[{kept}]"])
    assert run_experiment(narrowed).cells_run == 1
    err = capsys.readouterr().err
    model = experiment.models[0]
    assert f"model {model} changed since its 2 rows were stored: recomputing" in err
    assert f"model {model} changed since its 2 rows were stored: set aside in `superseded`, not recomputed" in err
    store = ResultStore(experiment.store_path)
    assert {row.target for row in store.rows()} == {kept}
    assert {row.target for row, _, _ in store.superseded()} == {kept, left_out}
    assert run_experiment(experiment).rows_written == 2  # the target left out, computed when a run names it
    assert {row.model_fingerprint for row in store.rows()} == {model_fingerprint(model)}


def test_rows_of_a_left_out_target_are_set_aside_when_the_training_data_changed(grid, capsys, tmp_path):
    """The source's training file changed and the next run named one target: it was recomputed, but the other
    target's rows stayed in `results` beside it, under the same key, from the earlier fine-tuning. The files every
    target's rows read (the source's training and dev files, a method's parallel text) judge left-out rows too."""
    experiment, _ = load_experiment(grid)
    [cell] = expand(experiment)
    kept, left_out = cell.targets
    train = tmp_path / "pos" / f"{cell.source}-train.conllu"
    train.write_text(train.read_text(encoding="utf-8").replace("\tNOUN\t", "\tVERB\t", 1), encoding="utf-8")
    capsys.readouterr()
    narrowed, _ = load_experiment(grid, [f"targets=[{kept}]"])
    assert run_experiment(narrowed).cells_run == 1
    err = capsys.readouterr().err
    assert f"training data {train} changed since its 2 rows were stored: recomputing" in err
    assert (
        f"training data {train} changed since its 2 rows were stored: set aside in `superseded`, not recomputed" in err
    )
    store = ResultStore(experiment.store_path)
    assert {row.target for row in store.rows()} == {kept}
    assert {row.target for row, _, _ in store.superseded()} == {kept, left_out}


def test_a_rerun_stopped_before_its_stale_cells_leaves_no_stale_row_in_results(grid, capsys, monkeypatch):
    """Stale rows were moved to `superseded` only when their cell's new rows were written: a rerun stopped before
    (Ctrl-C, a failing cell) left them in `results`, where they were averaged with the new model's rows of other
    cells. They leave `results` before any cell runs; nothing is lost (`superseded` keeps them)."""
    from mbert_eval.grid.executors import local

    experiment, _ = load_experiment(grid)
    store = ResultStore(experiment.store_path)
    before = store.rows()
    retrain_in_place(Path(experiment.models[0]))

    def stopped(job):
        raise KeyboardInterrupt

    monkeypatch.setattr(local, "run_cell", stopped)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(experiment)
    assert store.rows() == [] and len(store.superseded()) == len(before)
    monkeypatch.undo()
    assert run_experiment(experiment).cells_run == 1 and len(store.rows()) == len(before)
