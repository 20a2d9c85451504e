"""A cell's rows carry how sure their scores are: the main metric's row of each target has its 95% bootstrap
interval, the test-set size, the chance level and the per-example file it was computed from, written beside the
store before the row; reruns give the same intervals; other metrics and per-layer rows carry none."""

import re

import pytest

from mbert_eval.config.loading import load_experiment
from mbert_eval.data import read_conllu
from mbert_eval.errors import UserError
from mbert_eval.grid.run import run_experiment
from mbert_eval.metrics.bootstrap import bootstrap_interval, score
from mbert_eval.store.examples import read_examples
from mbert_eval.store.results import ResultStore
from tests.helpers import family_experiment, write_config

UNCERTAINTY = {"ci_low", "ci_high", "ci_level", "aggregate", "examples"}


def run(tmp_path, raw: dict, overwrite: bool = False):
    """Run `raw` as an experiment; its store's rows and path."""
    experiment, problems = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    assert problems == []
    run_experiment(experiment, overwrite=overwrite)
    return ResultStore(experiment.store_path).rows(), experiment.store_path


def test_a_single_seed_run_stores_intervals_test_sizes_and_per_example_files(tmp_path, small_family, tiny_model):
    rows, store = run(tmp_path, family_experiment(small_family, tiny_model))
    main = [row for row in rows if row.metric == "accuracy"]
    assert len(main) == 4  # pos and paraphrase, two targets each, one seed
    source = small_family.languages[0].code
    tags = {
        tag for sentence in read_conllu(small_family.root / "pos" / f"{source}-train.conllu") for tag in sentence.tags
    }
    for row in main:
        extra = row.extra
        assert UNCERTAINTY <= set(extra) and row.n_examples == 40
        assert re.fullmatch(rf"examples/{row.cell_key}/{row.target}\.[0-9a-f]{{12}}\.jsonl\.gz", extra["examples"])
        outputs = read_examples(store, extra["examples"])
        assert outputs is not None and (outputs.task, outputs.metric) == (row.task, row.metric)
        assert len(outputs.stats) == 40 and outputs.aggregate == extra["aggregate"]
        assert score(outputs.array(), outputs.aggregate) == pytest.approx(row.score, abs=1e-12)
        assert extra["ci_low"] <= row.score <= extra["ci_high"] and extra["ci_low"] < extra["ci_high"]
        assert extra["ci_level"] == 0.95
        interval = bootstrap_interval(outputs.array(), outputs.aggregate, seed=int(row.cell_key[:8], 16))
        assert (extra["ci_low"], extra["ci_high"]) == (interval.low, interval.high)
        assert extra["chance"] == (1 / len(tags) if row.task == "pos" else 1 / 2)
    assert {row.extra["aggregate"] for row in main} == {"ratio", "mean"}
    (other,) = {row.metric for row in rows} - {"accuracy"}
    assert all(not (UNCERTAINTY | {"chance"}) & set(row.extra) for row in rows if row.metric == other)


def test_a_rerun_replaces_the_files_whole_and_gives_the_same_intervals(tmp_path, small_family, tiny_model):
    raw = family_experiment(small_family, tiny_model)
    raw["tasks"].pop("pos")
    first, store = run(tmp_path, raw)
    (row, _) = first
    file = store.parent / row.extra["examples"]
    file.write_bytes(b"cut short")  # a file that a rerun must replace, not append to
    again, _ = run(tmp_path, raw, overwrite=True)
    keep = ("score", "n_examples")
    assert [(r.target, *(getattr(r, k) for k in keep), r.extra["ci_low"], r.extra["ci_high"]) for r in again] == [
        (r.target, *(getattr(r, k) for k in keep), r.extra["ci_low"], r.extra["ci_high"]) for r in first
    ]
    assert len(read_examples(store, again[0].extra["examples"]).stats) == 40


def test_retrieval_layers_carry_no_interval(tmp_path, small_family, tiny_model):
    base = small_family.languages[0].code
    root = small_family.root
    raw = family_experiment(small_family, tiny_model)
    raw["tasks"] = {
        "tatoeba": {
            "test": f"{root}/parallel/{base}-{{lang}}.{{lang}}[0:30]",
            "pivot": f"{root}/parallel/{base}-{{lang}}.{base}",
            "layer": 1,
        }
    }
    rows, store = run(tmp_path, raw)
    for row in rows:
        if row.metric == "accuracy":
            assert UNCERTAINTY <= set(row.extra) and row.extra["chance"] == 1 / 30 and row.n_examples == 30
            assert row.extra["ci_low"] <= row.score <= row.extra["ci_high"]
        else:
            assert not UNCERTAINTY & set(row.extra), row.metric


def test_a_target_failing_after_another_keeps_that_targets_file(tmp_path, small_family, tiny_model, monkeypatch):
    from mbert_eval.tasks.tagging import POSTask

    raw = family_experiment(small_family, tiny_model)
    raw["tasks"].pop("paraphrase")
    first, second = raw["targets"]
    evaluate = POSTask.evaluate

    def failing(self, prepared, examples, device, progress=None):
        if progress == f"pos {second}":
            raise UserError("the test file went away")
        return evaluate(self, prepared, examples, device, progress)

    monkeypatch.setattr(POSTask, "evaluate", failing)
    experiment, _ = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    with pytest.raises(UserError, match="went away"):
        run_experiment(experiment)
    rows = ResultStore(experiment.store_path).rows()
    (row,) = [row for row in rows if row.metric == "accuracy"]
    assert row.target == first and (experiment.store_path.parent / row.extra["examples"]).is_file()
    assert [
        path.name.split(".")[0] for path in (experiment.store_path.parent / "examples" / row.cell_key).iterdir()
    ] == [first]


def test_a_per_example_file_that_cannot_be_written_loses_no_score(tmp_path, small_family, tiny_model, monkeypatch):
    import errno

    from mbert_eval.grid import job

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(job, "write_examples", full)
    raw = family_experiment(small_family, tiny_model)
    raw["tasks"].pop("pos")
    rows, store = run(tmp_path, raw)
    assert len(rows) == 2 and not (store.parent / "examples").exists()
    for row in rows:
        assert row.extra["examples_error"] == "per-example outputs not written: No space left on device"
        assert "examples" not in row.extra and row.extra["ci_low"] <= row.score <= row.extra["ci_high"]


def test_outputs_that_do_not_give_the_score_back_make_no_interval(tmp_path, small_family, tiny_model, monkeypatch):
    """A task whose per-example statistics disagree with its score (a fault in its code, as pairwise language
    identity's was: two numpy bools added as `or`) gets no interval and no file; the row and stderr say why."""
    from mbert_eval.tasks.pair_classification import ParaphraseTask

    evaluate = ParaphraseTask.evaluate

    def halved(self, prepared, examples, device, progress=None):
        scores = evaluate(self, prepared, examples, device, progress)
        scores.examples.stats = [[value / 2 for value in row] for row in scores.examples.stats]
        return scores

    monkeypatch.setattr(ParaphraseTask, "evaluate", halved)
    raw = family_experiment(small_family, tiny_model)
    raw["tasks"].pop("pos")
    rows, store = run(tmp_path, raw)
    main = [row for row in rows if row.metric == "accuracy"]
    assert len(main) == 2 and not (store.parent / "examples").exists()
    for row in main:
        assert not {"ci_low", "ci_high", "examples"} & set(row.extra)
        assert row.extra["examples_error"].startswith("no interval: the per-example outputs give accuracy ")
        assert row.extra["chance"] == 1 / 2  # what the row knows besides stays
