"""The QA tasks' evaluation path vs the bare model forward on the same windows (goal: ratio ≥ 0.9).

Both sides run the same span-head (`BertForQuestionAnswering`) model over the same length-sorted, dynamically
padded batches of QA windows under `torch.inference_mode` and the same autocast. The bare side gets its batches
already collated on the device and only calls `model(**batch)` (and an argmax of both logits); the suite side
runs what `QATask.answers` runs after tokenization: `predict_spans` (collation, n-best span search on the device,
copy back) and `answer_texts` (best window per example, context substring). Windows have XQuAD-like lengths
(mean ~220 tokens, 48 to 384), one or two per example. On the CPU each side is timed in CPU time
(`time.process_time`, so that other load on the machine does not count), 1 thread by default; on a GPU in wall
time (CPU time does not count the GPU's work). Rounds alternate which side runs first (bare, suite; suite, bare;
...), and the medians over rounds are reported.

    python benchmarks/bench_qa_eval.py [--preset mini] [--windows 1000] [--rounds 5] [--threads 1] [--device auto] [--json out.json]
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
    parser.add_argument("--rounds", type=int, default=5, help="timings of each side, the order alternated")
    parser.add_argument("--threads", type=int, default=1, help="torch's CPU threads (default: 1)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    parser.add_argument("--json", help="Also write the numbers to this file.")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    vocab = 30000
    device = pick_device(args.device)
    model = BertForQuestionAnswering(BertConfig(vocab_size=vocab, **SIZE_PRESETS[args.preset])).to(device).eval()
    examples, features = make_windows(args.windows, vocab)
    batches = []
    for indices in length_sorted_batches(features, args.batch_size):
        batches.append(collate([features[i] for i in indices], 0, device))
    sides = {
        "bare": lambda: bare_forward(model, batches, device),
        "suite": lambda: suite_path(model, examples, features, device, args.batch_size),
    }
    clock, unit = (time.process_time, "cpu") if device.type == "cpu" else (time.perf_counter, "wall")
    times: dict[str, list[float]] = {"bare": [], "suite": []}
    sides["suite"]()  # warm-up
    sides["bare"]()
    for round_index in range(args.rounds):
        for name in ("bare", "suite") if round_index % 2 == 0 else ("suite", "bare"):
            start = clock()
            sides[name]()
            times[name].append(clock() - start)
    result = {
        "preset": args.preset,
        "windows": len(features),
        "examples": len(examples),
        "device": str(device),
        "tokens": sum(len(f["input_ids"]) for f in features),
        "threads": torch.get_num_threads(),
        "clock": ("CPU time (process_time)" if unit == "cpu" else "wall time (GPU)") + ", sides alternated per round",
        f"bare_{unit}_seconds": statistics.median(times["bare"]),
        f"suite_{unit}_seconds": statistics.median(times["suite"]),
        f"bare_{unit}_seconds_per_round": times["bare"],
        f"suite_{unit}_seconds_per_round": times["suite"],
    }
    result[f"bare_windows_per_{unit}_s"] = len(features) / result[f"bare_{unit}_seconds"]
    result[f"suite_windows_per_{unit}_s"] = len(features) / result[f"suite_{unit}_seconds"]
    result["ratio"] = result[f"bare_{unit}_seconds"] / result[f"suite_{unit}_seconds"]
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=1)


if __name__ == "__main__":
    main()
