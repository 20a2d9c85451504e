"""Fine-tuning a real-size encoder on CPU: the suite's loop against a bare loop, the word-embedding matrix
trained, frozen or sparsely updated, and three ways to form training batches. Time, peak memory and scores.

Zero-shot POS (Hu et al. 2020's UD-POS setting): multilingual-e5-small (`mbert-eval models import e5-small`)
fine-tuned on English LinES train sentences, dev on LinES dev, evaluated on PUD targets. Every configuration
runs in its own process (peak resident memory is per process: VmHWM), one after another, never two at once.

- `--study loop`: `FineTunedTask.prepare` (the suite) against a hand-written loop over the same features and
  the same batches (AdamW, the same linear schedule and clipping, dev scored after each epoch, no best-epoch
  copy): speed ratio bare/suite in CPU time (goal ≥ 0.95) and memory ratio suite/bare (goal ≤ 1.0).
- `--study embeddings`: the suite with `word_embeddings: train` (on a CPU through sparse gradients, its AdamW
  updating the touched rows: `training.loop.sparse_word_embeddings`), the same with the dense gradient torch and
  Trainer use (`gradient: dense`: the same weights within rounding, at the dense cost), `freeze`, and the bare loop
  with a lazy sparse update (`nn.Embedding(sparse=True)` + `torch.optim.SparseAdam`: another update than AdamW's).
- `--study batching`: the suite with `batching: sorted` (the whole set sorted by length), `random` and
  `megabatch` (sorted within random groups of 50 batches, as transformers' `group_by_length`), under a linear
  decay and a constant learning rate, and the bare loop with random batches (a plain loop), over seeds;
  `--study megabatch`: megabatch groups of 4 and 8 batches.
- `--study checkpointing`: the suite (word embeddings frozen) without and with `activation_checkpointing`.
- `--study trainer`: the suite against `transformers.Trainer` (and the bare loop), all parameters trained. Trainer
  replaces only the suite's `fine_tune` inside `FineTunedTask.prepare`, so model, head, features and the dev
  scorer (after each epoch, in the timed region of both) are the suite's; it gets the suite's batches in the
  suite's order (a batch sampler over `training_batches`), fused AdamW with the same decay groups, lr, schedule,
  clipping at 1.0, no saving, logging or evaluation of its own. CPU time and wall time of `prepare`, peak memory;
  speed trainer/suite in CPU time (goal ≥ 1.0), memory suite/trainer (goal ≤ 1.0). `--rounds` alternates the
  three (suite, trainer, bare, suite, ...) so that the shared machine's load hits all alike.
Every study first runs its first configuration once, not counted (`--warmup`, on by default), so that no
configuration always takes a run's first place, where the disk cache may be cold (in two runs of the Trainer study
without it, that first process was the slowest of the suite's rounds: 56.9 and 60.8 CPU s against 50.8-55.8).
All studies but `batching` use random batches and a constant learning rate (what a plain loop does).
Every loop scores dev (after each epoch, in its timed region) and the targets (after it) with the suite's scorer,
`FineTunedTask.dev_metric` and `evaluate` (`training.predict`: length-sorted batches of 128, the suite's evaluation
window, 128 tokens), so that the timed regions hold the same scoring work and the scores are comparable. Every
process imports what any loop needs (transformers' Trainer and Auto classes, the suite's loop) before its timer.
`--study loop` and `--study trainer` check that the compared loops of a seed drew the same batches (`batches_sha`)
and agree on dev and every target within `--score-tolerance`; a mismatch prints a WARNING and exits with 1 (after
writing `--json`).

    python benchmarks/bench_finetune.py --study batching --seeds 1 2 3 [--model runs/models/e5-small] [--json F]
    python benchmarks/bench_finetune.py --study trainer --threads 1 --sentences 400 --epochs 1 --rounds 2
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(os.environ.get("MBERT_EVAL_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
STUDIES = {
    "loop": [dict(loop="suite", schedule="constant"), dict(loop="bare", schedule="constant")],
    "embeddings": [
        dict(loop="suite", word_embeddings="train", schedule="constant"),
        dict(loop="suite", word_embeddings="train", gradient="dense", schedule="constant"),
        dict(loop="suite", word_embeddings="freeze", schedule="constant"),
        dict(loop="bare", word_embeddings="sparse", schedule="constant"),
    ],
    "megabatch": [dict(loop="suite", batching="megabatch", megabatch=m, schedule="constant") for m in (4, 8)],
    "trainer": [
        dict(loop="suite", word_embeddings="train", schedule="constant"),
        dict(loop="trainer", word_embeddings="train", schedule="constant"),
        dict(loop="bare", word_embeddings="train", schedule="constant"),
    ],
    "checkpointing": [
        dict(loop="suite", word_embeddings="freeze", schedule="constant", checkpointing=c) for c in (False, True)
    ],
    "batching": [
        dict(loop="suite", batching=b, schedule=s)
        for s in ("linear", "constant")
        for b in ("sorted", "random", "megabatch")
    ]
    + [dict(loop="bare", batching="random", schedule="constant")],
}


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def fine_tune_settings(spec: dict):
    """The suite's fine-tuning for `spec`: its training config whole, the seed beside it."""
    from mbert_eval.config.experiment import TrainingConfig
    from mbert_eval.training.fine_tuning import FineTuning

    training = TrainingConfig(
        learning_rate=spec["learning_rate"],
        batch_size=spec["batch_size"],
        epochs=spec["epochs"],
        batching=spec.get("batching", "random"),
        word_embeddings=spec.get("word_embeddings", "train"),
        lr_schedule=spec.get("schedule", "linear"),
        weight_decay=spec.get("weight_decay", 0.0),
        max_length=128,
        activation_checkpointing=spec.get("checkpointing", False),
    )
    return FineTuning(training, seed=spec["seed"])


def record_batches() -> list[list[int]]:
    """Every training batch any loop of this process draws from `training_batches`, in order (the suite's loop,
    the bare loop and the Trainer's sampler all draw from it), to check that all saw the same sequence."""
    import mbert_eval.training.batches
    import mbert_eval.training.loop

    drawn: list[list[int]] = []
    original = mbert_eval.training.batches.training_batches

    def recording(*args, **kwargs):
        batches = original(*args, **kwargs)
        drawn.extend(list(indices) for indices in batches)
        return batches

    mbert_eval.training.batches.training_batches = recording
    mbert_eval.training.loop.training_batches = recording
    return drawn


def import_every_side() -> None:
    """Import, before the timer, what any of the loops imports when it runs (Trainer's modules: 0.5 CPU s and 500
    modules; the Auto classes of the bare loop; the suite's loop and scorer), in every process alike, so that no
    loop's timed region pays for imports the others made before theirs."""
    import transformers.trainer  # noqa: F401
    from transformers import (  # noqa: F401
        AutoModelForTokenClassification,
        AutoTokenizer,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    import mbert_eval.models.encoders  # noqa: F401
    import mbert_eval.tasks.fine_tuned  # noqa: F401
    import mbert_eval.training.loop  # noqa: F401


def run_one(spec: dict) -> dict:
    """One fine-tuning run as `spec` says; returns its times (wall and CPU), peak memory and scores."""
    import torch

    from mbert_eval.data import read_conllu
    from mbert_eval.tasks import get_task

    torch.set_num_threads(spec["threads"])
    if "megabatch" in spec:  # batches per length-sorted group of `batching: megabatch`
        import mbert_eval.training.batches

        mbert_eval.training.batches.MEGABATCH = spec["megabatch"]
    if spec.get("gradient") == "dense":  # the word-embedding matrix's gradient dense, as torch and Trainer keep it
        import contextlib

        import mbert_eval.training.loop

        mbert_eval.training.loop.sparse_word_embeddings = lambda *args: contextlib.nullcontext()
    drawn = record_batches()
    device = torch.device("cpu")
    train = read_conllu(DATA / "ud/en/en_lines-ud-train.conllu")[: spec["sentences"]]
    dev = read_conllu(DATA / "ud/en/en_lines-ud-dev.conllu")[: spec.get("dev_sentences")]
    targets = {code: read_conllu(DATA / f"ud/pud/{code}_pud-ud-test.conllu") for code in spec["targets"]}
    settings = fine_tune_settings(spec)
    task = get_task("pos")
    extra = {}
    if spec["loop"] == "trainer":  # the suite's prepare around Trainer's loop instead of `fine_tune`
        import mbert_eval.training.loop

        mbert_eval.training.loop.fine_tune = trainer_fine_tune  # `prepare` imports it from there when it runs
    import_every_side()
    started, started_cpu = time.perf_counter(), time.process_time()
    if spec["loop"] in ("suite", "trainer"):
        prepared = task.prepare(spec["model"], train, dev, settings, device)
        trained, trained_cpu = time.perf_counter(), time.process_time()
        dev_scores = prepared.log["dev_scores"]
        extra = {k: prepared.log[k] for k in ("optimizer", "decay_groups_match", "best_epoch") if k in prepared.log}
        scores = {code: task.evaluate(prepared, examples, device)["accuracy"] for code, examples in targets.items()}
    else:
        dev_scores, scores = bare_loop(task, spec, settings, train, dev, targets)
        trained = time.perf_counter() - scores.pop("_eval_seconds")
        trained_cpu = time.process_time() - scores.pop("_eval_cpu_seconds")
    return {
        **spec,
        "train_seconds": trained - started,
        "train_cpu_seconds": trained_cpu - started_cpu,
        "eval_seconds": time.perf_counter() - trained,
        "dev": dev_scores[-1],
        "dev_scores": dev_scores,
        "targets": scores,
        "peak_rss_mb": peak_rss_mb(),
        "batches": len(drawn),
        "batches_sha": hashlib.sha256(json.dumps(drawn).encode()).hexdigest()[:12],
        **extra,
    }


def trainer_fine_tune(model, train, pad_id, device, fine_tuning, dev_score=None, **_) -> tuple:
    """`training.loop.fine_tune`'s contract, by `transformers.Trainer`: the suite's batches in the suite's order
    (the same seeded `training_batches` per epoch, as a batch sampler), its collate, Trainer's fused AdamW (its
    decay groups: all but biases and LayerNorm, as the suite's), the same lr, schedule (no warm-up), clipping;
    `dev_score` after each epoch (a callback), no saving, logging or evaluation of Trainer's own."""
    import tempfile

    import torch
    from transformers import Trainer, TrainerCallback, TrainingArguments

    from mbert_eval.training import loop
    from mbert_eval.training.batches import collate

    seed, settings = fine_tuning.seed, fine_tuning.training
    if settings.warmup_ratio or settings.word_embeddings != "train" or fine_tuning.method.freeze:
        raise ValueError("the Trainer study compares full fine-tuning without warm-up")
    rng = random.Random(seed)  # the suite's batch order (its `prepare` seeded the process once, as for the suite)
    log = {"dev_scores": [], "best_epoch": None}

    class EpochBatches:  # each epoch: the suite's next draw of batches from the same seeded generator
        def __iter__(self):
            return iter(loop.training_batches(train, settings.batch_size, rng, settings.batching))

        def __len__(self):
            return math.ceil(len(train) / settings.batch_size)

    class BatchedTrainer(Trainer):
        def get_train_dataloader(self):
            return self.accelerator.prepare(
                torch.utils.data.DataLoader(
                    train,
                    batch_sampler=EpochBatches(),
                    collate_fn=lambda features: loop.model_inputs(model, collate(features, pad_id, device)),
                )
            )

    class ScoreDev(TrainerCallback):
        def on_epoch_end(self, args, state, control, **kwargs):
            log["dev_scores"].append(dev_score(model))

    with tempfile.TemporaryDirectory(prefix="bench-trainer-") as scratch:
        arguments = TrainingArguments(
            output_dir=scratch,
            per_device_train_batch_size=settings.batch_size,
            num_train_epochs=settings.epochs,
            learning_rate=settings.learning_rate,
            weight_decay=settings.weight_decay,
            lr_scheduler_type=settings.lr_schedule,
            max_grad_norm=settings.max_grad_norm,
            optim="adamw_torch_fused",
            adam_epsilon=1e-8,
            seed=seed,
            use_cpu=device.type == "cpu",
            eval_strategy="no",
            save_strategy="no",
            logging_strategy="no",
            report_to="none",
            disable_tqdm=True,
            dataloader_num_workers=0,
        )
        trainer = BatchedTrainer(
            model=model, args=arguments, train_dataset=train, callbacks=[ScoreDev()] if dev_score else None
        )
        trainer.train()
    decayed = set(trainer.get_decay_parameter_names(model))
    log["decay_groups_match"] = decayed == {n for n, p in model.named_parameters() if p.ndim >= 2}
    log["optimizer"] = {k: trainer.optimizer.defaults.get(k) for k in ("fused", "foreach")}
    log["best_epoch"] = settings.epochs
    return model, log


def bare_loop(task, spec: dict, fine_tuning, train, dev, targets) -> tuple[list[float], dict[str, float]]:
    """A plain fine-tuning loop: the suite's features and batches, AdamW (or SparseAdam for a sparse embedding
    update), linear decay, clipping at 1.0, dev scored after each epoch; scores at the last epoch. Dev and the
    targets are scored by the suite's own scorer (`dev_metric`, `evaluate`: the same function, window and batches
    as the suite's loop), so that both timed regions hold the same scoring work and the scores compare."""
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from mbert_eval.tasks.base import Prepared
    from mbert_eval.tasks.fine_tuned import eval_window
    from mbert_eval.training.batches import collate, training_batches
    from mbert_eval.training.loop import seed_everything

    settings = fine_tuning.training
    tokenizer = AutoTokenizer.from_pretrained(spec["model"])
    labels = task.label_set(train)
    label_ids = {label: i for i, label in enumerate(labels)}
    seed_everything(spec["seed"])
    model = AutoModelForTokenClassification.from_pretrained(spec["model"], num_labels=len(labels))
    features = task.encode(train, tokenizer, label_ids, settings.max_length)
    pad = tokenizer.pad_token_id
    device = torch.device("cpu")
    window = eval_window(model, settings)  # the suite's evaluation window, as its `prepare` encodes dev
    dev_features = task.encode(dev, tokenizer, label_ids, window)
    embedding = model.get_input_embeddings()
    dense = [p for p in model.parameters() if p is not embedding.weight]
    sparse = settings.word_embeddings == "sparse"
    # built by hand on purpose, not by `training.optim`: the bare loop is the reference the suite is measured
    # against (and SparseAdam has no place in the suite's one optimizer rule)
    if sparse:
        embedding.sparse = True
        optimizers = [
            torch.optim.AdamW(dense, lr=settings.learning_rate, weight_decay=0.0),
            torch.optim.SparseAdam([embedding.weight], lr=settings.learning_rate),
        ]
    else:
        optimizers = [torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=0.0)]
    total = math.ceil(len(features) / settings.batch_size) * settings.epochs
    constant = spec.get("schedule") == "constant"
    schedules = [
        torch.optim.lr_scheduler.LambdaLR(o, lambda step: 1.0 if constant else max(0.0, (total - step) / total))
        for o in optimizers
    ]
    rng = random.Random(spec["seed"])

    def dev_score() -> float:  # what the suite's `prepare` hands its loop as `dev_score`
        return task.dev_metric(model, dev, dev_features, labels, pad, device, fine_tuning)

    dev_scores = []
    for _ in range(settings.epochs):
        model.train()
        for indices in training_batches(features, settings.batch_size, rng, settings.batching):
            batch = collate([features[i] for i in indices], pad, device)
            model(**batch).loss.backward()
            grads = [p.grad for p in model.parameters() if p.grad is not None]
            norm = torch.sqrt(sum((g.coalesce().values() if g.is_sparse else g).pow(2).sum() for g in grads))
            if norm > 1.0:
                for g in grads:
                    g.mul_(1.0 / float(norm))
            for optimizer, schedule in zip(optimizers, schedules):
                optimizer.step()
                schedule.step()
                optimizer.zero_grad(set_to_none=True)
        dev_scores.append(dev_score())
    started, started_cpu = time.perf_counter(), time.process_time()
    prepared = Prepared(model, tokenizer, labels, {"eval_window": window})  # as the suite's `prepare` returns it
    scores = {code: task.evaluate(prepared, examples, device)["accuracy"] for code, examples in targets.items()}
    scores["_eval_seconds"] = time.perf_counter() - started
    scores["_eval_cpu_seconds"] = time.process_time() - started_cpu
    return dev_scores, scores


def label(result: dict) -> str:
    group = f"{result['megabatch']}" if "megabatch" in result else ""
    parts = [
        result["loop"],
        result.get("batching", "") + group,
        result.get("word_embeddings", ""),
        f"{result['gradient']}-gradient" if "gradient" in result else "",
        result.get("schedule", ""),
        "checkpointed" if result.get("checkpointing") else "",
    ]
    return " ".join(part for part in parts if part)


def table(results: list[dict]) -> str:
    """Mean (± std over seeds) per configuration, as Markdown."""
    groups: dict[str, list[dict]] = {}
    for result in results:
        groups.setdefault(label(result), []).append(result)
    targets = list(results[0]["targets"])

    def cell(values: list[float], scale: float = 100.0, digits: int = 1) -> str:
        values = [v * scale for v in values]
        mean = statistics.mean(values)
        return f"{mean:.{digits}f}" + (f" ± {statistics.stdev(values):.{digits}f}" if len(values) > 1 else "")

    lines = [
        "| configuration | runs | train s | train CPU s | peak MB | dev | " + " | ".join(targets) + " |",
        "|---" * (6 + len(targets)) + "|",
    ]
    for name, runs in groups.items():
        lines.append(
            f"| {name} | {len(runs)} | {cell([r['train_seconds'] for r in runs], 1, 0)} | "
            f"{cell([r.get('train_cpu_seconds', math.nan) for r in runs], 1, 0)} | "
            f"{cell([r['peak_rss_mb'] for r in runs], 1, 0)} | {cell([r['dev'] for r in runs])} | "
            + " | ".join(cell([r["targets"][t] for r in runs]) for t in targets)
            + " |"
        )
    return "\n".join(lines)


def trainer_ratios(results: list[dict]) -> str:
    """Speed trainer/suite (CPU time and wall time of training) and memory suite/trainer, as for `--study
    trainer`, and the bare loop beside them."""

    def mean(loop: str, key: str) -> float:
        return statistics.mean(r[key] for r in results if r["loop"] == loop)

    cpu, wall, peak = "train_cpu_seconds", "train_seconds", "peak_rss_mb"
    return (
        f"speed trainer/suite: {mean('trainer', cpu) / mean('suite', cpu):.3f} CPU time, "
        f"{mean('trainer', wall) / mean('suite', wall):.3f} wall time (goal >= 1.0); "
        f"memory suite/trainer: {mean('suite', peak) / mean('trainer', peak):.3f} (goal <= 1.0); "
        f"bare/suite CPU time {mean('bare', cpu) / mean('suite', cpu):.3f}, "
        f"memory suite/bare {mean('suite', peak) / mean('bare', peak):.3f}"
    )


def same_work(results: list[dict], tolerance: float) -> list[str]:
    """Check the "same batches, same scores" claim of the loop and Trainer studies: per seed, every compared loop
    drew the same batches (`batches_sha`) and got dev and every target within `tolerance` of each other (fused and
    for-loop AdamW round apart, so not exactly); Trainer used the suite's decay groups and a fused AdamW. Prints
    one line per seed; returns the mismatches."""
    problems = []
    for seed in sorted({r["seed"] for r in results}):
        runs = [r for r in results if r["seed"] == seed]
        hashes = sorted({r["batches_sha"] for r in runs})
        if len(hashes) > 1:
            problems.append(f"seed {seed}: the loops drew different batches ({', '.join(hashes)})")
        scores = {"dev": [r["dev"] for r in runs]}
        scores.update({code: [r["targets"][code] for r in runs] for code in runs[0]["targets"]})
        gaps = {name: max(values) - min(values) for name, values in scores.items()}
        widest = max(gaps, key=gaps.get)
        if gaps[widest] > tolerance:
            earlier = [r["loop"] for r in runs if r.get("best_epoch") not in (None, r["epochs"])]
            problems.append(
                f"seed {seed}: scores differ by up to {gaps[widest]:.5f} ({widest}), over the tolerance {tolerance}"
                + (f" ({', '.join(earlier)} kept an earlier epoch than the last)" if earlier else "")
            )
        for r in runs:
            if r["loop"] == "trainer" and not (r.get("decay_groups_match") and (r.get("optimizer") or {}).get("fused")):
                problems.append(
                    f"seed {seed}: Trainer's optimizer is not the suite's ({r.get('optimizer')}, "
                    f"decay groups match: {r.get('decay_groups_match')})"
                )
        print(
            f"check seed {seed}: {len(runs)} runs ({', '.join(sorted({r['loop'] for r in runs}))}), batches "
            f"{'/'.join(hashes)} ({runs[0]['batches']} batches), largest score difference {gaps[widest]:.5f} "
            f"({widest}; tolerance {tolerance})"
        )
    for problem in problems:
        print(f"WARNING: not the same work: {problem}", flush=True)
    return problems


def run_process(spec: dict) -> dict:
    """One configuration, run in a fresh process (`--one`): its numbers."""
    output = subprocess.run(
        [sys.executable, __file__, "--one", json.dumps(spec)], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", choices=sorted(STUDIES), default="loop")
    parser.add_argument("--model", default="runs/models/e5-small")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--sentences", type=int, default=1500)
    parser.add_argument("--dev-sentences", type=int, help="the first N dev sentences only (default: all)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--targets", nargs="+", default=["de", "ru", "zh"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--weight-decay", type=float, default=0.0, help="the suite's and Trainer's")
    parser.add_argument("--rounds", type=int, default=1, help="repeat every configuration, alternated")
    parser.add_argument(
        "--warmup",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="first run the first configuration once, not counted (default: on)",
    )
    parser.add_argument(
        "--score-tolerance",
        type=float,
        default=0.001,
        help="loop and trainer studies: the largest difference of dev or target scores (fractions) between the "
        "compared loops of a seed before the run warns and exits with 1 (default: 0.001, 0.1 points)",
    )
    parser.add_argument("--json", help="Also write every run's numbers to this file.")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one spec (JSON) in this process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(json.loads(args.one))))
        return
    if not (Path(args.model) / "config.json").is_file():
        sys.exit(f"no model at {args.model}: run `mbert-eval models import e5-small` first (or pass --model)")
    common = {
        "model": args.model,
        "sentences": args.sentences,
        "dev_sentences": args.dev_sentences,
        "epochs": args.epochs,
        "targets": args.targets,
        "learning_rate": args.learning_rate,
        "batch_size": args.batch_size,
        "threads": args.threads,
        "weight_decay": args.weight_decay,
    }
    runs = [(seed, variant) for _ in range(args.rounds) for seed in args.seeds for variant in STUDIES[args.study]]
    counted = [True] * len(runs)
    if args.warmup:  # not counted: no configuration always takes the run's first place (see the docstring)
        runs, counted = runs[:1] + runs, [False] + counted
    results = []
    for (seed, variant), count in zip(runs, counted):
        result = run_process({**common, **variant, "seed": seed})
        print(
            f"{label(result)} seed {result['seed']}: train {result['train_seconds']:.0f} s "
            f"({result['train_cpu_seconds']:.0f} CPU s), peak {result['peak_rss_mb']:.0f} MB, dev {result['dev']:.4f}, "
            f"{ {t: round(s, 4) for t, s in result['targets'].items()} }"
            + ("" if count else " (warm-up, not counted)"),
            flush=True,
        )
        if count:
            results.append(result)
    print(table(results))
    problems = []
    if args.study in ("loop", "trainer"):
        problems = same_work(results, args.score_tolerance)
    if args.study == "loop":

        def mean(loop: str, key: str) -> float:
            return statistics.mean(r[key] for r in results if r["loop"] == loop)

        speed = mean("bare", "train_cpu_seconds") / mean("suite", "train_cpu_seconds")
        wall = mean("bare", "train_seconds") / mean("suite", "train_seconds")
        memory = mean("suite", "peak_rss_mb") / mean("bare", "peak_rss_mb")
        print(
            f"speed bare/suite: {speed:.3f} CPU time (goal >= 0.95), {wall:.3f} wall time; "
            f"memory suite/bare: {memory:.3f} (goal <= 1.0)"
        )
    if args.study == "trainer":
        print(trainer_ratios(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    if problems:
        sys.exit(
            f"{len(problems)} check(s) failed: the compared loops did not do the same work (see the WARNING lines)"
        )


if __name__ == "__main__":
    main()
