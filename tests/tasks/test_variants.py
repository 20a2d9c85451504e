"""Task variants: a config entry NAME:LABEL runs the registered task NAME under settings of its own, beside the
plain entry in one grid and one store, its rows named apart (lm-evaluation-harness names task variants the same
way: one task, several configs, each its own name)."""

import pytest

from mbert_eval.config.experiment import Experiment, TaskConfig
from mbert_eval.config.loading import load_experiment
from mbert_eval.grid.resolve import resolve, validate
from mbert_eval.grid.run import metric_roles, run_experiment
from mbert_eval.registry import registered_name
from mbert_eval.report.roles import fine_tunes
from mbert_eval.store.results import ResultStore
from tests.helpers import write_config
from tests.tasks.test_centering import tatoeba_config


def _scores(rows) -> dict[tuple[str, str], float]:
    return {(row.target, row.metric): row.score for row in rows}


def test_a_variant_scores_what_its_settings_score_alone_and_leaves_the_plain_keys(tmp_path, small_family, tiny_model):
    plain = tatoeba_config(small_family, tiny_model, output="out-plain")
    centred = tatoeba_config(small_family, tiny_model, output="out-centred", center=True)
    both = tatoeba_config(small_family, tiny_model, output="out-both")
    both["tasks"]["tatoeba:centred"] = centred["tasks"]["tatoeba"]
    experiments = {}
    for label, raw in (("plain", plain), ("centred", centred), ("both", both)):
        experiment, problems = load_experiment(write_config(tmp_path / f"{label}.yaml", raw))
        assert problems == [] and validate(experiment) == []
        experiments[label] = experiment
    keys = {label: {cell.cell.task: cell.key for cell in resolve(e).cells} for label, e in experiments.items()}
    assert keys["both"]["tatoeba"] == keys["plain"]["tatoeba"]  # adding a variant leaves the plain cells' keys
    assert keys["both"]["tatoeba:centred"] not in (keys["plain"]["tatoeba"], keys["centred"]["tatoeba"])

    for experiment in experiments.values():
        run_experiment(experiment)
    rows = {label: ResultStore(e.store_path).rows() for label, e in experiments.items()}
    variant = [row for row in rows["both"] if row.task == "tatoeba:centred"]
    unchanged = [row for row in rows["both"] if row.task == "tatoeba"]
    assert variant and all(row.extra.get("centered") is True for row in variant)
    assert unchanged and all(row.extra.get("centered") is None for row in unchanged)
    assert _scores(variant) == pytest.approx(_scores(rows["centred"]))  # the variant is the centred run
    assert _scores(unchanged) == pytest.approx(_scores(rows["plain"]))
    assert _scores(variant) != _scores(unchanged)

    roles = {(role.task, role.metric): role for role in ResultStore(experiments["both"].store_path).metric_roles()}
    main = next(role for role in roles.values() if role.task == "tatoeba" and role.is_main)
    assert roles["tatoeba:centred", main.metric].is_main
    assert [role.xtreme for role in roles.values() if role.task == "tatoeba" and role.xtreme] == ["tatoeba"]
    # XTREME's score counts each of its tasks once, run as XTREME runs it: a variant gets no XTREME mark
    assert all(role.xtreme is None for role in roles.values() if role.task == "tatoeba:centred")


def test_the_report_reads_a_variant_as_its_registered_task():
    assert registered_name("tatoeba:centred") == "tatoeba" and registered_name("pos") == "pos"
    assert not fine_tunes("tatoeba:centred") and not fine_tunes("tatoeba")  # no source score, no transfer gap
    assert fine_tunes("pos:first") and fine_tunes("pos")
    roles = metric_roles(["pos", "pos:first"])
    assert {role.metric for role in roles if role.task == "pos"} == {
        role.metric for role in roles if role.task == "pos:first"
    }
    assert [role.xtreme for role in roles if role.task == "pos:first"] == [None] * (len(roles) // 2)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("pos:", "a task variant is named TASK:LABEL"),
        ("pos:two words", "a task variant is named TASK:LABEL"),
        ("pos:" + "x" * 41, "a task variant is named TASK:LABEL"),
        ("pos:a:b", "a task variant is named TASK:LABEL"),
        ("tatoebe:x", "unknown task 'tatoebe'; did you mean: tatoeba?"),
        (":x", "a task variant is named TASK:LABEL"),  # no task before the colon
        ("POS:x", "unknown task 'POS'; did you mean: pos"),  # letter case aside
    ],
)
def test_bad_variant_names_are_refused_with_their_key(name, fragment):
    experiment = Experiment(models=["m"], sources=["en"], targets=["de"], tasks={name: TaskConfig(test="t.txt")})
    problems = validate(experiment, check_files=False)
    assert any(problem.startswith(f"tasks.{name}: ") and fragment in problem for problem in problems), problems


def test_a_variant_takes_the_options_of_its_registered_task_only():
    experiment = Experiment(
        models=["m"], sources=["en"], targets=["de"], tasks={"pos:centred": TaskConfig(test="t.txt", center=True)}
    )
    assert any("task 'pos' has no option 'center'" in problem for problem in validate(experiment, check_files=False))


def test_every_task_with_per_layer_scores_lists_them_and_they_get_no_metric_role():
    """`ls tasks` left out tatoeba's `accuracy_layerNN` and bucc's `f1_layerNN`, which their rows hold (the probes
    and language identity listed theirs); a description of the per-layer scores is no metric a row is stored
    under, so the store's metric roles hold none (language identity's `accuracy_layerNN` had one)."""
    from mbert_eval.tasks import get_task

    per_layer = ("tatoeba", "bucc", "language_identity", "pos_probe")
    for name in per_layer:
        assert any(metric.endswith("_layerNN") for metric in get_task(name).metadata.metric_descriptions), name
    assert [role.metric for role in metric_roles(per_layer) if "layerNN" in role.metric] == []
