"""The QA tasks' evaluation path vs the bare model forward on the same windows (goal: ratio ≥ 0.9).

Both sides run the same span-head (`BertForQuestionAnswering`) model over the same length-sorted, dynamically
padded batches of QA windows under `torch.inference_mode` and the same autocast. The bare side gets its batches
already collated on the device and only calls `model(**batch)` (and an argmax of both logits); the suite side
runs what `QATask.answers` runs after tokenization: `predict_spans` (collation, n-best span search on the device,
copy back) and `answer_texts` (best window per example, context substring). Windows have XQuAD-like lengths
(mean ~220 tokens, 48 to 384), one or two per example. Runs are interleaved and repeated; medians are reported.

    python benchmarks/bench_qa_eval.py [--preset mini] [--windows 1000] [--rounds 5] [--device auto] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

import numpy as np
import torch
from transformers import BertConfig, BertForQuestionAnswering

from mbert_eval.data.types import Answer, QAExample
from mbert_eval.models.encoders import autocast, pick_device
from mbert_eval.pretraining.loop import SIZE_PRESETS
from mbert_eval.tasks.qa_windows import answer_texts, predict_spans
from mbert_eval.training.batches import collate, length_sorted_batches

CHARS = 6  # characters per synthetic token (5 letters and a space)


def make_windows(n: int, vocab: int, seed: int = 0) -> tuple[list[QAExample], list[dict]]:
    """`n` evaluation windows shaped as `encode_windows` makes them (question of 12 tokens, then the context),
    and the examples they belong to."""
    rng = random.Random(seed)
    examples, features = [], []
    while len(features) < n:
        windows = min(rng.choice((1, 1, 1, 2)), n - len(features))
        lengths = [max(48, min(384, int(rng.gauss(220, 90)))) for _ in range(windows)]
        context = "abcde " * sum(lengths)
        examples.append(QAExample(str(len(examples)), "?", context, (Answer("abcde", 0),)))
        offset = 0
        for length in lengths:
            first, last = 14, length - 2  # [CLS] + 12 question tokens + [SEP]; the final [SEP]
            offsets = (
                [(0, 0)] * first
                + [(CHARS * (offset + i), CHARS * (offset + i) + CHARS - 1) for i in range(last - first + 1)]
                + [(0, 0)]
            )
            features.append(
                {
                    "input_ids": np.asarray([2] + [rng.randrange(5, vocab) for _ in range(length - 2)] + [3], np.int32),
                    "token_type_ids": np.asarray([0] * first + [1] * (length - first), np.int32),
                    "example": len(examples) - 1,
                    "context": (first, last),
                    "offsets": offsets,
                }
            )
            offset += last - first + 1
    return examples, features


def bare_forward(model, batches: list[dict], device: torch.device) -> None:
    with torch.inference_mode(), autocast(device):
        for batch in batches:
            output = model(**batch)
            output.start_logits.argmax(-1), output.end_logits.argmax(-1)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def suite_path(model, examples: list[QAExample], features: list[dict], device: torch.device, batch_size: int) -> None:
    answer_texts(examples, features, predict_spans(model, features, 0, device, batch_size))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="mini", choices=sorted(SIZE_PRESETS))
    parser.add_argument("--windows", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    parser.add_argument("--json", help="Also write the numbers to this file.")
    args = parser.parse_args()
    torch.manual_seed(0)
    vocab = 30000
    device = pick_device(args.device)
    model = BertForQuestionAnswering(BertConfig(vocab_size=vocab, **SIZE_PRESETS[args.preset])).to(device).eval()
    examples, features = make_windows(args.windows, vocab)
    batches = []
    for indices in length_sorted_batches(features, args.batch_size):
        batches.append(collate([features[i] for i in indices], 0, device))
    suite, bare = [], []
    suite_path(model, examples, features, device, args.batch_size)  # warm-up
    bare_forward(model, batches, device)
    for _ in range(args.rounds):
        start = time.perf_counter()
        bare_forward(model, batches, device)
        bare.append(time.perf_counter() - start)
        start = time.perf_counter()
        suite_path(model, examples, features, device, args.batch_size)
        suite.append(time.perf_counter() - start)
    result = {
        "preset": args.preset,
        "windows": len(features),
        "examples": len(examples),
        "device": str(device),
        "tokens": sum(len(f["input_ids"]) for f in features),
        "threads": torch.get_num_threads(),
        "bare_seconds": statistics.median(bare),
        "suite_seconds": statistics.median(suite),
    }
    result["bare_windows_per_s"] = len(features) / result["bare_seconds"]
    result["suite_windows_per_s"] = len(features) / result["suite_seconds"]
    result["ratio"] = result["bare_seconds"] / result["suite_seconds"]
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=1)


if __name__ == "__main__":
    main()
