"""The suite's evaluation loop vs the bare model forward on the same batches (goal: ratio ≥ 0.9).

Both sides run the same token-classification model over the same length-sorted, dynamically padded
batches under `torch.inference_mode`. The bare side gets its batches already collated on the device
and only calls `model(**batch)`; the suite side runs `training.predict` (collation, argmax, copy
back, reordering included). Each side is timed in CPU time (`time.process_time`, so that other load on the
machine does not count), 1 thread by default; rounds alternate which side runs first (bare, suite; suite, bare;
...), and the medians over rounds are reported.

    python benchmarks/bench_eval_loop.py [--preset mini] [--sentences 1000] [--rounds 5] [--threads 1] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

import torch
from transformers import BertConfig, BertForTokenClassification

from mbert_eval.pretraining.loop import SIZE_PRESETS
from mbert_eval.training.batches import collate, length_sorted_batches
from mbert_eval.training.loop import predict


def make_features(n: int, vocab: int, seed: int = 0) -> list[dict]:
    """Sentences with PUD-like lengths (subwords: mean ~30, 8 to 120)."""
    rng = random.Random(seed)
    features = []
    for _ in range(n):
        length = max(8, min(120, int(rng.gauss(30, 14))))
        ids = [2] + [rng.randrange(5, vocab) for _ in range(length - 2)] + [3]
        features.append({"input_ids": ids, "labels": [rng.randrange(17) for _ in ids]})
    return features


def bare_forward(model, batches: list[dict]) -> None:
    with torch.inference_mode():
        for batch in batches:
            model(**batch).logits.argmax(-1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="mini", choices=sorted(SIZE_PRESETS))
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=5, help="timings of each side, the order alternated")
    parser.add_argument("--threads", type=int, default=1, help="torch's CPU threads (default: 1)")
    parser.add_argument("--json", help="Also write the numbers to this file.")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    vocab = 30000
    model = BertForTokenClassification(BertConfig(vocab_size=vocab, num_labels=17, **SIZE_PRESETS[args.preset]))
    model.eval()
    device = torch.device("cpu")
    features = make_features(args.sentences, vocab)
    batches = []
    for indices in length_sorted_batches(features, args.batch_size):
        batch = collate([features[i] for i in indices], 0, device)
        batch.pop("labels")
        batches.append(batch)
    tokens = sum(len(f["input_ids"]) for f in features)
    sides = {
        "bare": lambda: bare_forward(model, batches),
        "suite": lambda: predict(model, features, 0, device, args.batch_size),
    }
    times: dict[str, list[float]] = {"bare": [], "suite": []}
    sides["suite"]()  # warm-up
    sides["bare"]()
    for round_index in range(args.rounds):
        for name in ("bare", "suite") if round_index % 2 == 0 else ("suite", "bare"):
            start = time.process_time()
            sides[name]()
            times[name].append(time.process_time() - start)
    result = {
        "preset": args.preset,
        "sentences": args.sentences,
        "tokens": tokens,
        "threads": torch.get_num_threads(),
        "clock": "CPU time (process_time), sides alternated per round",
        "bare_cpu_seconds": statistics.median(times["bare"]),
        "suite_cpu_seconds": statistics.median(times["suite"]),
        "bare_cpu_seconds_per_round": times["bare"],
        "suite_cpu_seconds_per_round": times["suite"],
    }
    result["bare_tokens_per_cpu_s"] = tokens / result["bare_cpu_seconds"]
    result["suite_tokens_per_cpu_s"] = tokens / result["suite_cpu_seconds"]
    result["ratio"] = result["bare_cpu_seconds"] / result["suite_cpu_seconds"]
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=1)


if __name__ == "__main__":
    main()
