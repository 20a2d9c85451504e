"""What the restructure of issue 11 must not change: a store written before it opens (and renders its report,
though it predates stored configs and metric roles), and every cell of a grid keeps its key (so a rerun over an
old store computes nothing again). Both fixtures were recorded by the main of 2026-12-03, before the
restructure. A store written now describes itself: its configs and its tasks' metric roles."""

from __future__ import annotations

import json
import shutil

from mbert_eval.config.loading import load_experiment
from mbert_eval.store import ResultStore
from tests.helpers import FIXTURES, cell_keys


def test_every_cell_keeps_the_key_it_had():
    """Every cell finds its rows under the key recorded for it: its key itself, or, for a task with its own
    `targets:` (tatoeba and alignment here), the key it had before they left cell keys (`recorded_key`, whose
    rows a run re-keys: `test_a_store_keyed_with_a_tasks_targets_is_complete_and_a_target_added_is_computed_alone`)."""
    experiment, problems = load_experiment(FIXTURES / "cell-keys-grid.yaml")
    assert problems == []
    recorded = json.loads((FIXTURES / "cell-keys.json").read_text(encoding="utf-8"))
    assert cell_keys(experiment, as_recorded=True) == recorded
    now = cell_keys(experiment)
    own_targets = {name for name in recorded if name.split("|")[2] in ("tatoeba", "alignment")}
    assert len(own_targets) == 40 and {name for name in now if now[name] != recorded[name]} == own_targets


def test_a_store_written_before_the_restructure_opens(tmp_path):
    path = tmp_path / "old.sqlite"
    shutil.copy(FIXTURES / "store-2026-12-03.sqlite", path)
    rows = ResultStore(path).rows(task="pos")
    assert len(rows) == 336 and {row.method for row in rows} >= {"baseline", "tlm", "freeze3"}


def test_the_old_store_renders_its_report_with_guessed_roles_and_delta_against_baseline(tmp_path):
    """Written before stores described themselves: no configs, no metric roles. The report guesses POS's main
    metric (accuracy), says so in one sentence, and takes `baseline` as the reference method."""
    from mbert_eval.report import write_report
    from mbert_eval.report.summary import summarize

    path = tmp_path / "old.sqlite"
    shutil.copy(FIXTURES / "store-2026-12-03.sqlite", path)
    store = ResultStore(path)
    assert store.configs() == [] and store.metric_roles() == []  # the tables exist now, empty
    [pos] = summarize(store.dataframe(), store.metric_roles(), store.configs())
    assert (pos.metric, pos.higher_is_better, pos.reference) == ("accuracy", True, "baseline") and pos.guessed
    tlm = pos.scores[pos.scores["method"] == "tlm"]
    assert tlm["delta"].notna().all() and pos.scores[pos.scores["method"] == "baseline"]["delta"].isna().all()
    page = write_report(store, tmp_path / "old.html", "old").read_text(encoding="utf-8")
    assert page.count("Metric roles guessed for pos (the store predates metric roles)") == 1
    assert "reference method: baseline" in page and "Δ = method − baseline" in page and "not stored" in page


def test_a_store_written_by_a_run_holds_its_config_and_metric_roles(grid_config):
    from mbert_eval.report.text_table import format_results

    experiment, _ = load_experiment(grid_config)
    store = ResultStore(experiment.store_path)
    [config] = store.configs()
    assert (config.config_hash, config.name, config.reference) == (experiment.config_hash(), "test", "baseline")
    assert config.config["training"]["learning_rate"] == 1e-3 and set(config.config["tasks"]) == {"pos"}
    assert config.config == json.loads(json.dumps(experiment.to_dict(), default=str)) and config.written_at
    assert {row.config_hash for row in store.rows()} == {config.config_hash}
    roles = {(role.task, role.metric): role for role in store.metric_roles()}
    assert set(roles) == {("pos", "accuracy"), ("pos", "xtreme_f1")}
    assert roles["pos", "accuracy"].is_main and roles["pos", "accuracy"].higher_is_better
    assert not roles["pos", "xtreme_f1"].is_main and "seqeval" in roles["pos", "xtreme_f1"].description
    assert "xtreme_f1" not in format_results(store) and "xtreme_f1" in format_results(store, all_metrics=True)


def test_a_field_added_later_joins_the_key_only_when_set():
    """Fields added after the keys were recorded (declared `keyed_when_set`) leave every recorded key as it was at their
    default, and change the key of the cells they affect once set."""
    experiment, _ = load_experiment(FIXTURES / "cell-keys-grid.yaml")
    cell = next(name for name in cell_keys(experiment) if "|pos|" in name)
    before = cell_keys(experiment)[cell]
    experiment.training.eval_max_length = 512
    assert cell_keys(experiment)[cell] != before
    experiment.training.eval_max_length = None
    experiment.training.eval_steps = 500
    assert cell_keys(experiment)[cell] != before
    experiment.training.eval_steps = None
    experiment.tasks["pos"].allow_overlap = True  # a permission, not a setting that changes scores
    assert cell_keys(experiment)[cell] == before


def test_a_retired_field_splits_no_cell():
    """`training.eval_batch_size` changes no score (padding is masked): lowering it, as an out-of-memory error
    while evaluating advises, keeps every key, so the next run computes only the cell that failed."""
    experiment, _ = load_experiment(FIXTURES / "cell-keys-grid.yaml")
    before = cell_keys(experiment)
    experiment.training.eval_batch_size = 8
    assert cell_keys(experiment) == before
    experiment.tasks["tatoeba"].targets = ["de"]  # which targets a cell evaluates scores none of them
    assert cell_keys(experiment) == before


def test_a_store_keyed_with_a_tasks_targets_is_complete_and_a_target_added_is_computed_alone(
    tmp_path, small_family, tiny_model, capsys
):
    """A store written while a task's own `targets:` were part of its cells' keys: the run finds the rows under
    the key the cell had then, re-keys them and computes nothing; a target added to the task afterwards is the
    only one computed, beside the earlier rows under the same key (one cell: their intervals stand)."""
    from mbert_eval.grid.resolve import resolve
    from mbert_eval.grid.run import run_experiment
    from mbert_eval.report.text_table import format_results
    from tests.helpers import family_experiment, write_config

    parallel = small_family.root / "parallel"
    raw = family_experiment(small_family, tiny_model, output=str(tmp_path / "out"))
    tatoeba = {"test": f"{parallel}/qaa-{{lang}}.{{lang}}", "pivot": f"{parallel}/qaa-{{lang}}.qaa"}
    raw["tasks"] = {"tatoeba": {**tatoeba, "targets": ["qab"]}}
    experiment, _ = load_experiment(write_config(tmp_path / "one.yaml", raw))
    assert run_experiment(experiment).cells_run == 1
    [cell] = resolve(experiment).cells
    assert cell.recorded_key is not None and cell.recorded_key != cell.key
    store = ResultStore(experiment.store_path)
    with store.writing() as conn:  # the store as the code before wrote it: the same rows under the recorded key
        conn.execute("UPDATE results SET cell_key = ?", (cell.recorded_key,))
    assert {row.cell_key for row in store.rows()} == {cell.recorded_key}
    capsys.readouterr()

    again = run_experiment(experiment)
    assert (again.cells_run, again.cells_skipped, again.rows_written) == (0, 1, 0)
    assert "the rows of 1 cell re-keyed" in capsys.readouterr().err
    assert {row.cell_key for row in store.rows()} == {cell.key}

    raw["tasks"]["tatoeba"]["targets"] = ["qab", "qac"]
    experiment, _ = load_experiment(write_config(tmp_path / "two.yaml", raw))
    added = run_experiment(experiment)
    assert added.cells_run == 1
    rows = store.rows()
    assert {row.cell_key for row in rows} == {cell.key} and {row.target for row in rows} == {"qab", "qac"}
    assert added.rows_written == len([row for row in rows if row.target == "qac"])
    table = format_results(store)
    assert "several cells" not in table and table.count("[") >= 2  # both targets' intervals


def _with_new_field(config, record_of=None):
    """`config` as an instance of a subclass of its class with one NEW field (`new_setting: int = 0`), declared
    as joining the key only when set (`keyed_when_set`), the way a field added to the class itself is."""
    import dataclasses

    from mbert_eval.config.experiment import declare_identity

    base = type(config).IDENTITY
    subclass = dataclasses.make_dataclass(
        type(config).__name__, [("new_setting", int, dataclasses.field(default=0))], bases=(type(config),)
    )
    declare_identity(
        base.record,
        base.fields,
        given=base.given,
        keyed_when_set=(*base.keyed_when_set, "new_setting"),
        outside=base.outside,
    )(subclass)
    values = {item.name: getattr(config, item.name) for item in dataclasses.fields(config)}
    return subclass(**values)


def test_a_new_field_with_a_default_keeps_every_recorded_key_and_joins_once_set():
    """A new field with a default on TaskConfig, MethodConfig and TrainingConfig: all 80 recorded keys hold at
    its default; set away from it, exactly the cells it affects get new keys (a task's, a method's, every
    cell for the training config, whose fields added later key every cell)."""
    experiment, _ = load_experiment(FIXTURES / "cell-keys-grid.yaml")
    recorded = json.loads((FIXTURES / "cell-keys.json").read_text(encoding="utf-8"))
    experiment.tasks = {name: _with_new_field(config) for name, config in experiment.tasks.items()}
    experiment.methods = [_with_new_field(method) for method in experiment.methods]
    experiment.training = _with_new_field(experiment.training)
    assert all(hasattr(config, "new_setting") for config in [*experiment.tasks.values(), *experiment.methods])

    assert cell_keys(experiment, as_recorded=True) == recorded
    for owner, changed in (
        (experiment.tasks["pos"], lambda name: "|pos|" in name),
        (experiment.methods[1], lambda name: "|freeze3|" in name),
        (experiment.training, lambda name: True),
    ):
        owner.new_setting = 5
        now = cell_keys(experiment, as_recorded=True)
        assert {name for name in now if now[name] != recorded[name]} == {name for name in recorded if changed(name)}
        owner.new_setting = 0
        assert cell_keys(experiment, as_recorded=True) == recorded


def test_a_field_nobody_declared_is_refused_when_its_class_is_defined():
    """Identity is declared, not read off a repr: a field that is neither identity, keyed when set, nor outside
    identity is a TypeError at once."""
    import dataclasses

    import pytest

    from mbert_eval.config.experiment import MethodConfig, declare_identity

    subclass = dataclasses.make_dataclass("MethodConfig", [("new_setting", int, 0)], bases=(MethodConfig,))
    base = MethodConfig.IDENTITY
    with pytest.raises(TypeError, match=r"undeclared: \['new_setting'\]"):
        declare_identity(base.record, base.fields)(subclass)
    declare_identity(base.record, base.fields, outside=("new_setting",))(subclass)
    assert subclass.IDENTITY.render(subclass(new_setting=3)) == base.render(MethodConfig())
