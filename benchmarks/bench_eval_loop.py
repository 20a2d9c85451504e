"""The suite's evaluation loop vs the bare model forward on the same batches (goal: ratio ≥ 0.9).

Both sides run the same token-classification model over the same length-sorted, dynamically padded
batches under `torch.inference_mode`. The bare side gets its batches already collated on the device
and only calls `model(**batch)`; the suite side runs `training.predict` (collation, argmax, copy
back, reordering included). Runs are interleaved and repeated; medians are reported.

    python benchmarks/bench_eval_loop.py [--preset mini] [--sentences 1000] [--rounds 5] [--json out.json]
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
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", help="Also write the numbers to this file.")
    args = parser.parse_args()
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
    suite, bare = [], []
    predict(model, features, 0, device, args.batch_size)  # warm-up
    for _ in range(args.rounds):
        start = time.perf_counter()
        bare_forward(model, batches)
        bare.append(time.perf_counter() - start)
        start = time.perf_counter()
        predict(model, features, 0, device, args.batch_size)
        suite.append(time.perf_counter() - start)
    result = {
        "preset": args.preset,
        "sentences": args.sentences,
        "tokens": tokens,
        "threads": torch.get_num_threads(),
        "bare_seconds": statistics.median(bare),
        "suite_seconds": statistics.median(suite),
    }
    result["bare_tokens_per_s"] = tokens / result["bare_seconds"]
    result["suite_tokens_per_s"] = tokens / result["suite_seconds"]
    result["ratio"] = result["bare_seconds"] / result["suite_seconds"]
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=1)


if __name__ == "__main__":
    main()
