"""`mbert-eval quickstart --real`: the example config matches it, a cut-down run on the real encoder and data
works end to end (POS, Tatoeba per layer, alignment AER), and a missing model or data folder is one line."""

from __future__ import annotations

import yaml
from click.testing import CliRunner

from mbert_eval.cli import main
from mbert_eval.cli.quickstart import layer_peaks, real_quickstart_config
from mbert_eval.config.loading import load_experiment
from mbert_eval.grid.run import run_experiment
from mbert_eval.store.results import ResultStore
from tests.helpers import REPO_ROOT, write_config


def test_example_config_is_the_quickstarts_grid():
    example = yaml.safe_load((REPO_ROOT / "examples" / "quickstart-real.yaml").read_text(encoding="utf-8"))
    expected = real_quickstart_config("../../shared/data", "../runs/models/e5-small")
    assert example.pop("output") == "../runs/examples/{name}"
    expected.pop("output")
    assert example == expected


def test_cut_down_real_grid_runs_every_task(tmp_path, shared_data, e5_small):
    raw = real_quickstart_config(str(shared_data), str(e5_small))
    raw.update(output=str(tmp_path / "run"), targets=["de", "en", "zh"])
    raw["training"].update(learning_rate=2e-4, lr_schedule="constant")  # few steps: larger ones
    pos = raw["tasks"]["pos"]
    pos.update(
        train=pos["train"].replace("[0:1500]", "[0:320]"),
        dev=pos["dev"].replace("[0:500]", "[0:40]"),
        test=pos["test"] + "[0:60]",
        epochs=1,
    )
    tatoeba = raw["tasks"]["tatoeba"]
    tatoeba.update(targets=["de", "zh"], test={k: v + "[0:150]" for k, v in tatoeba["test"].items()})
    experiment, problems = load_experiment(write_config(tmp_path / "real.yaml", raw))
    assert problems == []
    run_experiment(experiment)
    store = ResultStore(experiment.store_path)
    rows = {(r.task, r.target, r.metric): r.score for r in store.rows()}
    assert {t for t, _, _ in rows} == {"pos", "tatoeba", "alignment"}
    assert rows[("pos", "en", "accuracy")] > 0.4  # 320 sentences, 10 steps: far above the majority tag (≈ 0.2)
    assert {("pos", code, "xtreme_f1") for code in ("de", "en", "zh")} <= set(rows)
    # e5 is trained for sentence retrieval: its upper layers find most translations (XTREME: mBERT ~ 40 %)
    assert rows[("tatoeba", "de", "accuracy_layer12")] > 0.8
    assert rows[("tatoeba", "de", "accuracy_layer00")] < rows[("tatoeba", "de", "accuracy_layer12")]
    assert rows[("alignment", "fr", "aer")] < 0.10  # SimAlign reports ≈ 0.06–0.07 for mBERT / XLM-R on en-fr
    assert rows[("alignment", "de", "aer")] < 0.5  # the simalign sample: 5 pairs
    assert any(line.startswith("tatoeba: layer ") for line in layer_peaks(store))


def test_missing_model_or_data_is_one_line(tmp_path, e5_small):
    runner = CliRunner()
    result = runner.invoke(
        main, ["quickstart", "--real", "--model", str(tmp_path / "nothing"), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 2 and "mbert-eval models import e5-small" in result.output
    assert len(result.output.strip().splitlines()) == 1
    result = runner.invoke(
        main,
        ["quickstart", "--real", "--model", str(e5_small), "--data", str(tmp_path), "--out", str(tmp_path / "out")],
    )
    assert result.exit_code == 2 and "pass --data DIR" in result.output
