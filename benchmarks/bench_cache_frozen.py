"""Fine-tuning with frozen lower layers: recomputing them every epoch vs `cache_frozen: true`.

Same model, data, seed and settings on both sides; the cached side computes the frozen embeddings +
bottom k layers once and skips them in every training step. Reports seconds per run (median over
rounds, runs interleaved) and the speed-up; dropout is turned off so that both sides train the
same function, and the script checks that they end with the same weights.

    python benchmarks/bench_cache_frozen.py [--preset mini] [--freeze 3] [--sentences 800] [--epochs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
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
    start = time.perf_counter()
    cache = FrozenPrefixCache(model, freeze, features, 0, torch.device("cpu")) if cached else None
    fine_tune(model, features, 0, torch.device("cpu"), settings, prefix_cache=cache, progress=None)
    return time.perf_counter() - start, model.classifier.weight.detach().clone()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="mini", choices=sorted(SIZE_PRESETS))
    parser.add_argument("--freeze", type=int, default=3)
    parser.add_argument("--sentences", type=int, default=800)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json")
    args = parser.parse_args()
    features = make_features(args.sentences, 30000)
    settings = FineTuning(TrainingConfig(learning_rate=1e-4, epochs=args.epochs, batch_size=32), seed=1)
    plain, cached = [], []
    for _ in range(args.rounds):
        seconds, plain_weights = run(args.preset, args.freeze, features, settings, cached=False)
        plain.append(seconds)
        seconds, cached_weights = run(args.preset, args.freeze, features, settings, cached=True)
        cached.append(seconds)
    result = {
        "preset": args.preset,
        "freeze": args.freeze,
        "layers": SIZE_PRESETS[args.preset]["num_hidden_layers"],
        "sentences": args.sentences,
        "epochs": args.epochs,
        "threads": torch.get_num_threads(),
        "recompute_seconds": statistics.median(plain),
        "cached_seconds": statistics.median(cached),
        "same_weights": bool(torch.allclose(plain_weights, cached_weights, atol=1e-4)),
    }
    result["speedup"] = result["recompute_seconds"] / result["cached_seconds"]
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=1)


if __name__ == "__main__":
    main()
