"""Fine-tuning options (freezing, frozen-layer cache, layer mixing) and method chains with caching."""

from pathlib import Path

import pytest
import torch

import mbert_eval.methods
from mbert_eval.config.experiment import MethodConfig
from mbert_eval.config.loading import build_experiment, load_experiment
from mbert_eval.errors import UserError
from mbert_eval.grid.resolve import validate
from mbert_eval.grid.run import run_experiment
from mbert_eval.methods import (
    STEPS,
    MethodContext,
    derived_checkpoint,
    describe_methods,
    prepare_encoder,
)
from mbert_eval.methods.base import Step, StepSettings
from mbert_eval.models.encoders import freeze_lower_layers, load_model
from mbert_eval.registry import Registry
from mbert_eval.store.results import ResultStore
from mbert_eval.training.batches import collate
from mbert_eval.training.frozen_cache import FrozenPrefixCache
from mbert_eval.training.loop import fine_tune
from mbert_eval.training.scalar_mix import ScalarMixClassifier
from tests.helpers import family_experiment, fine_tuning, token_features, write_config


def test_method_names_parse():
    method = MethodConfig.from_name("tlm+align+freeze3+mix")
    assert (method.chain, method.freeze, method.layer_mix) == (["tlm", "align"], 3, True)
    assert MethodConfig.from_name("baseline").chain == []


def test_frozen_parameters_unchanged_and_absent_from_optimizer(tiny_model):
    model = load_model(str(tiny_model), "token", 3)
    freeze_lower_layers(model, 1)
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    assert any("embeddings" in n for n in frozen) and any("layer.0." in n for n in frozen)
    assert not any("layer.1." in n for n in frozen)
    trained_before = model.bert.encoder.layer[1].output.dense.weight.detach().clone()
    captured = {}
    original = torch.optim.AdamW.__init__

    def capture(self, params, **kwargs):
        captured["params"] = [p for group in params for p in group["params"]]
        original(self, params, **kwargs)

    torch.optim.AdamW.__init__ = capture
    try:
        fine_tune(
            model, token_features(), 0, torch.device("cpu"), fine_tuning(learning_rate=1e-2, epochs=1, batch_size=4)
        )
    finally:
        torch.optim.AdamW.__init__ = original
    optimized = {id(p) for p in captured["params"]}
    for name, parameter in model.named_parameters():
        if name in frozen:
            assert torch.equal(parameter, frozen[name]), name
            assert id(parameter) not in optimized, name
    assert not torch.equal(model.bert.encoder.layer[1].output.dense.weight, trained_before)


def test_freeze_beyond_depth_is_rejected(tiny_model):
    model = load_model(str(tiny_model), "token", 3)
    with pytest.raises(UserError, match="beyond the model's depth"):
        freeze_lower_layers(model, 3)


def test_frozen_cache_gives_the_same_training_as_recomputing(tiny_model):
    features = token_features()
    settings = fine_tuning(learning_rate=1e-2, epochs=2, batch_size=4, seed=3)
    results = []
    for cached in (False, True):
        torch.manual_seed(0)
        model = load_model(str(tiny_model), "token", 3)
        model.config.hidden_dropout_prob = 0.0
        for module in model.modules():  # without dropout both paths compute the same function
            if isinstance(module, torch.nn.Dropout):
                module.p = 0.0
        freeze_lower_layers(model, 1)
        cache = FrozenPrefixCache(model, 1, features, 0, torch.device("cpu")) if cached else None
        fine_tune(model, features, 0, torch.device("cpu"), settings, prefix_cache=cache)
        results.append(model.classifier.weight.detach().clone())
    assert torch.allclose(results[0], results[1], atol=1e-5)


def test_layer_mix_learns_weights_and_predicts(tiny_model):
    encoder = load_model(str(tiny_model))
    model = ScalarMixClassifier(encoder, "token", 3)
    weights = model.layer_weights()
    assert len(weights) == 3 and sum(weights) == pytest.approx(1.0, abs=1e-5)
    fine_tune(model, token_features(), 0, torch.device("cpu"), fine_tuning(learning_rate=5e-2, epochs=2, batch_size=4))
    assert model.layer_weights() != weights
    batch = collate(token_features()[:2], 0, torch.device("cpu"))
    assert model(**batch).logits.shape[-1] == 3


def counted_step(monkeypatch, name: str, pause: float = 0.0) -> list[str]:
    """Register step `name` alone, building as `scratch` does (after `pause` seconds); returns the bases it
    built from, one per build."""
    import time

    builds = []
    scratch = STEPS.get("scratch")

    def build(base, out_dir, context):
        builds.append(base)
        time.sleep(pause)
        scratch.build(base, out_dir, context)

    steps = Registry[Step]("method step")
    steps.register(name, Step(build, lambda context: {"x": 1}), "test")
    monkeypatch.setattr(mbert_eval.methods, "STEPS", steps)
    return builds


def test_derived_checkpoints_are_cached(tmp_path, tiny_model, monkeypatch):
    builds = counted_step(monkeypatch, "counted")
    experiment, _ = load_experiment(None)
    context = MethodContext(StepSettings.of(experiment), "en", 1, tmp_path / "cache", "cpu")
    first = prepare_encoder(str(tiny_model), MethodConfig(name="a", chain=["counted"]), context)
    second = derived_checkpoint("counted", str(tiny_model), context)
    assert first == second and len(builds) == 1
    assert (
        derived_checkpoint(
            "counted", str(tiny_model), MethodContext(StepSettings.of(experiment), "en", 1, tmp_path / "cache", "auto")
        )
        == first
    ), "device is not in the key"
    other_seed = MethodContext(StepSettings.of(experiment), "en", 2, tmp_path / "cache", "cpu")
    assert derived_checkpoint("counted", str(tiny_model), other_seed) != first and len(builds) == 2


def test_cells_that_share_a_checkpoint_at_once_build_it_once(tmp_path, tiny_model, monkeypatch):
    """Cells running at the same time (Ray) that need one derived checkpoint: one builds it, the others wait for it
    under its lock and reuse it."""
    import threading

    builds = counted_step(monkeypatch, "slow", pause=0.5)  # the other cell arrives while one builds
    experiment, _ = load_experiment(None)
    context = MethodContext(StepSettings.of(experiment), "en", 1, tmp_path / "cache", "cpu")
    found = []
    cells = [
        threading.Thread(target=lambda: found.append(derived_checkpoint("slow", str(tiny_model), context)))
        for _ in range(2)
    ]
    for cell in cells:
        cell.start()
    for cell in cells:
        cell.join()
    assert len(builds) == 1 and len(found) == 2 and found[0] == found[1]


def test_step_checkpoints_are_keyed_by_settings_off_their_defaults_only(tmp_path, small_family):
    """`parallel.one_indexed` changes the links alignment-aware fine-tuning learns from, so it changes the derived
    checkpoint's key (a checkpoint built from the links read the other way was reused); at its default the key is
    the one earlier checkpoints were built under. So with `tlm.head_steps`, added after TLM checkpoints were
    cached: it joins the `tlm` step's key only when set."""
    codes = [language.code for language in small_family.languages]
    base, other, gold = small_family.parallel(codes[1])
    both = tmp_path / "gold.align"  # links valid whether read from 0 or from 1
    lengths = zip(base.read_text().splitlines(), other.read_text().splitlines(), gold.read_text().splitlines())
    both.write_text(
        "".join(
            " ".join(
                link
                for link in links.split()
                if all(1 <= int(i) < len(side.split()) for i, side in zip(link.split("-"), (source, target)))
            )
            + "\n"
            for source, target, links in lengths
        )
    )
    raw = {"targets": codes[1:2], "parallel": {"source": str(base), "target": str(other), "alignments": str(both)}}
    experiment, _ = build_experiment(raw, tmp_path)
    context = MethodContext(StepSettings.of(experiment), codes[0], 1, tmp_path, "cpu")
    align = STEPS.get("align")
    zero_based = align.fingerprint(context)
    assert set(zero_based) == {"align", "data"}  # the default adds nothing: earlier checkpoints keep their keys
    experiment.parallel.one_indexed = True
    assert align.fingerprint(MethodContext(StepSettings.of(experiment), codes[0], 1, tmp_path, "cpu")) != zero_based
    tlm = STEPS.get("tlm")
    plain = tlm.fingerprint(context)  # the settings tlm checkpoints were first cached under, and no others
    assert set(plain["tlm"]) == {"steps", "batch_size", "learning_rate", "max_length", "mix_mlm"}
    experiment.tlm.head_steps = 5
    warmed = tlm.fingerprint(MethodContext(StepSettings.of(experiment), codes[0], 1, tmp_path, "cpu"))
    assert warmed["tlm"] == {**plain["tlm"], "head_steps": 5}


def test_the_built_in_steps_are_listed_with_their_summaries():
    assert STEPS.names() == ["align", "scratch", "tlm"]
    rows = dict(describe_methods())
    assert list(rows)[:4] == ["baseline", "cache_frozen", "freeze<k>", "mix"]  # then the steps
    assert rows["tlm"] == "continued pretraining with translation LM on parallel text (Conneau & Lample 2019)"
    assert STEPS.get("tlm").needs_parallel and not STEPS.get("scratch").needs_parallel


@pytest.mark.slow
def test_grid_with_freeze_mix_and_scratch(tmp_path, small_family, tiny_model):
    raw = family_experiment(small_family, tiny_model, methods=["baseline", "freeze1", "mix", "scratch"])
    raw["tasks"].pop("paraphrase")
    raw["targets"] = raw["targets"][:1]
    experiment, problems = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    assert problems == []
    run_experiment(experiment)
    rows = {r.method: r for r in ResultStore(experiment.store_path).rows()}
    assert set(rows) == {"baseline", "freeze1", "mix", "scratch"}
    assert len(rows["mix"].extra["layer_weights"]) == 3
    assert "layer_weights" not in rows["baseline"].extra


@pytest.mark.parametrize(
    "method,message",
    [
        ("freeze5", "freeze 5 is beyond the depth"),
        ("tlmm", "unknown method step 'tlmm'; did you mean: tlm?"),
        ("tlm", "needs parallel text"),
    ],
)
def test_bad_methods_are_reported(tmp_path, small_family, tiny_model, method, message):
    from click.testing import CliRunner

    from mbert_eval.cli import main

    raw = family_experiment(small_family, tiny_model, methods=[method])
    result = CliRunner().invoke(main, ["run", str(write_config(tmp_path / "exp.yaml", raw))])
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.output
    assert (
        not (tmp_path / "out" / "results.sqlite").exists()
        or ResultStore(tmp_path / "out" / "results.sqlite").rows() == []
    )


def _tlm_grid(tmp_path, family, model, **parallel):
    codes = [language.code for language in family.languages]
    raw = family_experiment(family, model, methods=["tlm"], targets=codes[1:2])
    raw["tasks"].pop("paraphrase")
    base, other, align = family.parallel(codes[1])
    raw["parallel"] = {"source": str(base), "target": str(other), "alignments": str(align), **parallel}
    return raw


def test_parallel_text_is_read_for_the_tasks_own_targets_without_grid_targets(tmp_path, small_family, tiny_model):
    """A grid whose targets are all its tasks' own (`targets: []`): TLM reads the parallel text of those languages
    (before, of the grid's targets: none, and every TLM cell failed when it ran, after `validate` said OK)."""
    from mbert_eval.methods.parallel_data import load_parallel

    raw = _tlm_grid(tmp_path, small_family, tiny_model)
    raw["tasks"]["pos"]["targets"], raw["targets"] = raw["targets"], []
    experiment, problems = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    assert problems == []
    parallel = load_parallel(StepSettings.of(experiment), experiment.sources[0])
    assert [text.language for text in parallel] == raw["tasks"]["pos"]["targets"] and parallel[0].pairs


def test_unknown_aligner_method_is_reported_before_anything_runs(tmp_path, small_family, tiny_model):
    from click.testing import CliRunner

    from mbert_eval.cli import main

    raw = _tlm_grid(tmp_path, small_family, tiny_model)
    raw["methods"], raw["align"] = ["baseline", "align"], {"aligner_method": "grow"}
    result = CliRunner().invoke(main, ["run", str(write_config(tmp_path / "exp.yaml", raw))])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "align.aligner_method: unknown alignment method(s) grow; known: argmax, itermax, match" in result.stderr
    assert not (tmp_path / "out" / "results.sqlite").exists()


def _broken_copy(path, tmp_path, edit):
    lines = path.read_text(encoding="utf-8").splitlines()
    target = tmp_path / ("broken-" + path.name)
    target.write_text("\n".join(edit(lines)) + "\n", encoding="utf-8")
    return str(target)


@pytest.mark.parametrize("case", ["line counts", "empty line", "index out of range"])
def test_bad_parallel_data_is_reported(tmp_path, small_family, tiny_model, case):
    from click.testing import CliRunner

    from mbert_eval.cli import main

    base, other, align = small_family.parallel(small_family.languages[1].code)
    if case == "line counts":
        changes = {"target": _broken_copy(other, tmp_path, lambda lines: lines[:-3])}
        needles = [base.name, "broken-" + other.name, "50 sentences", "has 47"]
    elif case == "empty line":
        changes = {"target": _broken_copy(other, tmp_path, lambda lines: lines[:4] + [""] + lines[5:])}
        needles = ["broken-" + other.name + ":5", "empty line"]
    else:
        changes = {
            "alignments": _broken_copy(align, tmp_path, lambda lines: lines[:2] + [lines[2] + " 0-99"] + lines[3:])
        }
        needles = ["broken-" + align.name + ":3", "out of range"]
    raw = _tlm_grid(tmp_path, small_family, tiny_model, **changes)
    if case == "index out of range":  # TLM reads no alignments: the alignment-aware step is refused it
        raw["methods"] = ["baseline", "align"]
    result = CliRunner().invoke(main, ["run", str(write_config(tmp_path / "exp.yaml", raw))])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    error = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(error) == 1 and all(n in error[0] for n in needles), error
    assert not (tmp_path / "out" / "results.sqlite").exists()


@pytest.mark.slow
def test_chained_methods_share_cached_checkpoints(tmp_path, small_family, tiny_model):
    raw = _tlm_grid(tmp_path, small_family, tiny_model)
    raw["methods"] = ["tlm", "align", "tlm+align", {"name": "tlm+freeze", "chain": ["tlm"], "freeze": 1}]
    raw["tlm"] = {"steps": 4, "batch_size": 8, "max_length": 64}
    raw["align"] = {"batch_size": 16, "max_length": 64}
    experiment, problems = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    assert problems == []
    run_experiment(experiment)
    checkpoints = sorted(
        p.name.split("-")[0] for p in (experiment.output_dir / "checkpoints").iterdir() if (p / "config.json").is_file()
    )
    assert checkpoints == ["align", "align", "tlm"]  # tlm built once for three methods; align on base and on tlm
    rows = ResultStore(experiment.store_path).rows()
    assert {r.method for r in rows} == {"tlm", "align", "tlm+align", "tlm+freeze"}


def test_the_configured_device_reaches_every_step(tmp_path, small_family, tiny_model, monkeypatch):
    """`device: cpu` reaches the fine-tuning, the TLM pretraining, the aligner that computes the links and the
    alignment fine-tuning: none of them picks its own."""
    import mbert_eval.aligner.word_aligner
    import mbert_eval.methods.alignment
    import mbert_eval.models.encoders
    import mbert_eval.pretraining.loop

    requested = {}
    for module in (
        mbert_eval.models.encoders,  # the cell's own (`grid.job.run_cell` imports it when a cell computes)
        mbert_eval.pretraining.loop,
        mbert_eval.aligner.word_aligner,
        mbert_eval.methods.alignment,
    ):
        real = module.pick_device

        def spy(device="auto", _name=module.__name__.split(".")[-2], _real=real):  # noqa: B008
            requested.setdefault(_name, set()).add(device)
            return _real(device)

        monkeypatch.setattr(module, "pick_device", spy)
    raw = _tlm_grid(tmp_path, small_family, tiny_model)
    raw["parallel"].pop("alignments")  # the align step computes its links with the aligner
    raw["methods"], raw["device"] = ["tlm+align"], "cpu"
    raw["tlm"] = {"steps": 2, "batch_size": 8, "max_length": 64}
    raw["align"] = {"batch_size": 16, "max_length": 64, "epochs": 1}
    experiment, problems = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    assert problems == []
    run_experiment(experiment)
    assert requested == {"models": {"cpu"}, "pretraining": {"cpu"}, "aligner": {"cpu"}, "methods": {"cpu"}}
    assert {row.extra["device"] for row in ResultStore(experiment.store_path).rows()} == {"cpu"}


def test_fine_tune_through_accelerate_matches_plain(tiny_model):
    """One CPU process through `accelerate` trains exactly as the plain loop (the multi-GPU path)."""
    from accelerate import Accelerator

    torch.manual_seed(0)
    train = [{"input_ids": torch.randint(5, 50, (n,)).tolist(), "labels": n % 2} for n in range(6, 14)]
    settings = fine_tuning(epochs=1, batch_size=8, learning_rate=1e-3, seed=3)  # one step
    trained = []
    for accelerator in (None, Accelerator(cpu=True)):
        torch.manual_seed(1)  # the same fresh head
        tuned, _ = fine_tune(
            load_model(str(tiny_model), "sequence", 2),
            train,
            0,
            torch.device("cpu"),
            settings,
            dev_score=lambda m: 0.5,
            accelerator=accelerator,
        )
        trained.append(tuned.state_dict())
    assert all(torch.equal(trained[0][k], trained[1][k]) for k in trained[0])
    torch.manual_seed(1)
    start = load_model(str(tiny_model), "sequence", 2).state_dict()
    assert not all(torch.equal(start[k], trained[1][k]) for k in start)


def test_a_cells_scores_do_not_depend_on_whether_its_checkpoint_was_just_built(tmp_path, small_family, tiny_model):
    """The task head starts from the cell's seed alone: building the TLM checkpoint (which consumes random state)
    or loading it from the cache must give the same scores."""
    import shutil

    raw = _tlm_grid(tmp_path, small_family, tiny_model)
    raw["tlm"] = {"steps": 4, "batch_size": 8, "max_length": 64}
    experiment, _ = load_experiment(write_config(tmp_path / "built.yaml", {**raw, "output": "built"}))
    run_experiment(experiment)
    built = {(r.target, r.metric): r.score for r in ResultStore(experiment.store_path).rows()}
    shutil.copytree(tmp_path / "built" / "checkpoints", tmp_path / "cached" / "checkpoints")
    experiment, _ = load_experiment(write_config(tmp_path / "cached.yaml", {**raw, "output": "cached"}))
    run_experiment(experiment)
    cached = {(r.target, r.metric): r.score for r in ResultStore(experiment.store_path).rows()}
    assert cached == built


def test_tlm_neither_reads_nor_is_keyed_on_the_alignment_file(tmp_path, small_family, tiny_model):
    """TLM reads both sides of the parallel text, never its word alignments: a TLM-only grid was refused for a
    missing or broken `parallel.alignments` file, and an edited one rebuilt its checkpoint. The alignment-aware
    step reads them: its checkpoint key changes with them, and a broken file refuses it."""
    raw = _tlm_grid(tmp_path, small_family, tiny_model)
    links = Path(raw["parallel"]["alignments"])
    experiment, problems = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    assert problems == [] and validate(experiment) == []
    context = MethodContext(StepSettings.of(experiment), experiment.sources[0], 1, tmp_path, "cpu")
    before = {name: STEPS.get(name).fingerprint(context) for name in ("tlm", "align")}
    edited = tmp_path / "edited.align"
    edited.write_text(links.read_text().replace("0-0", "0-1", 1))
    experiment.parallel.alignments = str(edited)
    context = MethodContext(StepSettings.of(experiment), experiment.sources[0], 1, tmp_path, "cpu")
    assert STEPS.get("tlm").fingerprint(context) == before["tlm"]
    assert STEPS.get("align").fingerprint(context) != before["align"]
    raw["parallel"]["alignments"] = str(tmp_path / "missing.align")
    experiment, problems = load_experiment(write_config(tmp_path / "exp.yaml", raw))
    assert problems == [] and validate(experiment) == []
    experiment.methods = [m for m in experiment.methods if m.name != "tlm"] + [MethodConfig.from_name("align")]
    assert any("alignment file not found" in problem for problem in validate(experiment))


def test_a_tlm_cell_is_not_recomputed_for_an_alignment_file_it_never_read(tmp_path, small_family, tiny_model):
    """A TLM cell's rows recorded the alignment file beside its parallel text, so an edited (or removed) file
    recomputed its fine-tuning; they record what TLM reads, and rows stored when they recorded it are not judged
    on it either."""
    import json
    import sqlite3
    from contextlib import closing

    raw = _tlm_grid(tmp_path, small_family, tiny_model)
    raw["tlm"] = {"steps": 2, "batch_size": 8, "max_length": 64}
    links = tmp_path / "links.align"
    links.write_text(Path(raw["parallel"]["alignments"]).read_text())
    raw["parallel"]["alignments"] = str(links)
    config = write_config(tmp_path / "exp.yaml", raw)
    from tests.helpers import run_cli

    assert run_cli("run", config, "--no-report").exit_code == 0
    store = tmp_path / "out" / "results.sqlite"
    recorded = [json.loads(text) for (text,) in sqlite3.connect(store).execute("SELECT data_checksums FROM results")]
    assert recorded and not any(name.endswith("links.align") for sums in recorded for name in sums)
    with closing(sqlite3.connect(store)) as conn, conn:  # rows as stored before: the alignment file recorded too
        for rowid, text in conn.execute("SELECT rowid, data_checksums FROM results").fetchall():
            sums = {**json.loads(text), f"parallel:{links}": "0" * 64}
            conn.execute("UPDATE results SET data_checksums = ? WHERE rowid = ?", (json.dumps(sums), rowid))
    links.write_text(links.read_text().replace("0-0", "0-1", 1))
    again = run_cli("run", config, "--no-report")
    assert again.exit_code == 0 and again.stdout.startswith("0 cells run"), again.output
    links.unlink()
    assert run_cli("run", config, "--no-report").stdout.startswith("0 cells run")


def test_a_damaged_cached_checkpoint_is_built_again(tmp_path, tiny_model, monkeypatch, capsys):
    """A cached derived checkpoint whose weights were deleted was reused as it was: every cell of its method then
    failed ("has no weights") and no run rebuilt it. It is built again, and said so."""
    builds = counted_step(monkeypatch, "counted")
    experiment, _ = load_experiment(None)
    context = MethodContext(StepSettings.of(experiment), "en", 1, tmp_path / "cache", "cpu")
    first = derived_checkpoint("counted", str(tiny_model), context)
    (Path(first) / "model.safetensors").unlink()
    assert derived_checkpoint("counted", str(tiny_model), context) == first and len(builds) == 2
    assert (Path(first) / "model.safetensors").is_file()
    assert "counted: the cached checkpoint is damaged (" in capsys.readouterr().err
