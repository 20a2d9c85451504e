"""Fine-tuning with frozen lower layers: recomputing them every epoch vs `cache_frozen: true`.

Same model, data, seed and settings on both sides; the cached side computes the frozen embeddings +
bottom k layers once and skips them in every training step. Reports CPU seconds per run (`time.process_time`,
so that other load on the machine does not count; median over rounds, 1 thread by default, the order of the
two sides alternated from round to round) and the speed-up; dropout is turned off so that both sides train the
same function, and the script checks that they end with the same weights: the largest absolute difference over
the whole state dict, in every round, must stay within `--tolerance` (else it says so and exits with 1).

    python benchmarks/bench_cache_frozen.py [--preset mini] [--freeze 3] [--sentences 800] [--epochs 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time

import torch
from bench_eval_loop import (
    make_features,  # noqa: E402  (benchmarks/ is the working folder)
)
from transformers import BertConfig, BertForTokenClassification

from mbert_eval.config.experiment import TrainingConfig
from mbert_eval.models.encoders import freeze_lower_layers
from mbert_eval.pretraining.loop import SIZE_PRESETS
from mbert_eval.training.fine_tuning import FineTuning
from mbert_eval.training.frozen_cache import FrozenPrefixCache
from mbert_eval.training.loop import fine_tune


def run(preset: str, freeze: int, features: list[dict], settings: FineTuning, cached: bool):
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30000,
        num_labels=17,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        **SIZE_PRESETS[preset],
    )
    model = BertForTokenClassification(config)
    freeze_lower_layers(model, freeze)
    start = time.process_time()
    cache = FrozenPrefixCache(model, freeze, features, 0, torch.device("cpu")) if cached else None
    fine_tune(model, features, 0, torch.device("cpu"), settings, prefix_cache=cache, progress=None)
    return time.process_time() - start, {name: value.detach().clone() for name, value in model.state_dict().items()}


def largest_difference(first: dict, second: dict) -> tuple[float, str]:
    """The largest absolute difference between two state dicts, and the tensor where it is."""
    if first.keys() != second.keys():
        return math.inf, "different keys: " + ", ".join(sorted(first.keys() ^ second.keys()))
    gaps = {name: float((first[name].double() - second[name].double()).abs().max()) for name in first}
    name = max(gaps, key=gaps.get)
    return gaps[name], name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="mini", choices=sorted(SIZE_PRESETS))
    parser.add_argument("--freeze", type=int, default=3)
    parser.add_argument("--sentences", type=int, default=800)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each side, the order alternated")
    parser.add_argument("--threads", type=int, default=1, help="torch's CPU threads (default: 1)")
    parser.add_argument(
        "--tolerance", type=float, default=1e-5, help="the largest weight difference still the same (default: 1e-5)"
    )
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    features = make_features(args.sentences, 30000)
    settings = FineTuning(TrainingConfig(learning_rate=1e-4, epochs=args.epochs, batch_size=32), seed=1)
    times: dict[bool, list[float]] = {False: [], True: []}
    differences = []  # per round: the largest difference between the two sides' whole state dicts, and where
    for round_index in range(args.rounds):
        states = {}
        for cached in (False, True) if round_index % 2 == 0 else (True, False):
            seconds, states[cached] = run(args.preset, args.freeze, features, settings, cached=cached)
            times[cached].append(seconds)
        differences.append(largest_difference(states[False], states[True]))
    worst, where = max(differences)
    result = {
        "preset": args.preset,
        "freeze": args.freeze,
        "layers": SIZE_PRESETS[args.preset]["num_hidden_layers"],
        "sentences": args.sentences,
        "epochs": args.epochs,
        "threads": torch.get_num_threads(),
        "clock": "CPU time (process_time), sides alternated per round",
        "recompute_cpu_seconds": statistics.median(times[False]),
        "cached_cpu_seconds": statistics.median(times[True]),
        "recompute_cpu_seconds_per_round": times[False],
        "cached_cpu_seconds_per_round": times[True],
        "max_abs_weight_difference": worst,  # over the whole state dict and every round
        "max_abs_weight_difference_at": where,
        "tolerance": args.tolerance,
        "same_weights": worst <= args.tolerance,
    }
    result["speedup"] = result["recompute_cpu_seconds"] / result["cached_cpu_seconds"]
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=1)
    if not result["same_weights"]:
        sys.exit(f"not the same weights: they differ by {worst:.3g} at {where}, over the tolerance {args.tolerance}")


if __name__ == "__main__":
    main()
