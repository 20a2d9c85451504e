"""Benchmark: masked-LM training speed with the vocabulary projection at masked positions only vs everywhere.

Same model, same batches (random tokens, BERT masking), same optimizer step (``pretrain.training_step``); the two
projections are timed in CPU time (``time.process_time``, so that other load on the machine does not count), 1
thread by default, in alternating order, round after round. The best and the median tokens per CPU second of
each are reported.

    python benchmarks/bench_mlm_projection.py                      # mini preset, vocab 30k, batch 32 x 128, 1 thread
    python benchmarks/bench_mlm_projection.py --json reports/bench_mlm_projection.json
"""

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch
from transformers import PreTrainedModel

from mbert_eval.pretraining.loop import Projection, new_model, training_step
from mbert_eval.pretraining.objectives import Batch, mask_tokens
from mbert_eval.training.optim import adamw

MASK_TOKEN_ID = 4  # the random "vocabulary" keeps ids 0..4 for special tokens, as the trained tokenizers do
FIRST_WORD_ID = 5


def random_batches(count: int, batch_size: int, length: int, vocab_size: int, seed: int) -> list[Batch]:
    """``count`` full-length batches of random word ids between [CLS]=2 and [SEP]=3, masked as in BERT."""
    generator = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(count):
        input_ids = torch.randint(FIRST_WORD_ID, vocab_size, (batch_size, length), generator=generator)
        input_ids[:, 0], input_ids[:, -1] = 2, 3
        maskable = torch.ones_like(input_ids, dtype=torch.bool)
        maskable[:, [0, -1]] = False
        corrupted, labels = mask_tokens(input_ids, maskable, 0.15, MASK_TOKEN_ID, vocab_size, generator)
        batches.append(
            {
                "input_ids": corrupted,
                "attention_mask": torch.ones_like(input_ids),
                "token_type_ids": torch.zeros_like(input_ids),
                "labels": labels,
            }
        )
    return batches


def time_steps(
    model: PreTrainedModel, optimizer: torch.optim.Optimizer, batches: list[Batch], projection: Projection
) -> float:
    """CPU seconds for one training step per batch, the loss read once at the end (as the training loop does)."""
    start = time.process_time()
    losses = [training_step(model, optimizer, batch, projection, max_grad_norm=1.0) for batch in batches]
    torch.stack(losses).sum().item()
    return time.process_time() - start


def main() -> None:
    """Parse the arguments, run the interleaved rounds, print the results and optionally write them as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="mini")
    parser.add_argument("--vocab-size", type=int, default=30_000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--steps", type=int, default=3, help="timed training steps per run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each projection, in alternating order")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default: 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = new_model(args.preset, args.vocab_size, pad_token_id=0).train()
    optimizer = adamw(model, 1e-4, weight_decay=0.01, eps=1e-6)  # pretraining's optimizer (PretrainConfig defaults)
    batches = random_batches(args.steps, args.batch_size, args.length, args.vocab_size, args.seed)
    tokens = args.steps * args.batch_size * args.length
    projections: tuple[Projection, ...] = ("masked", "full")
    for projection in projections:  # warm-up: allocator, optimizer state, kernels
        time_steps(model, optimizer, batches[:1], projection)

    rates: dict[str, list[float]] = {"masked": [], "full": []}
    for round_index in range(args.rounds):
        order = projections if round_index % 2 == 0 else projections[::-1]
        for projection in order:
            rates[projection].append(tokens / time_steps(model, optimizer, batches, projection))
        print(f"round {round_index + 1}: " + ", ".join(f"{p} {rates[p][-1]:,.0f} tok/CPU s" for p in order), flush=True)

    best = {projection: max(values) for projection, values in rates.items()}
    median = {projection: statistics.median(values) for projection, values in rates.items()}
    for projection in projections:
        print(
            f"{projection:>6} projection: best {best[projection]:,.0f} tokens/CPU s, median {median[projection]:,.0f}"
        )
    speedup = {"best": best["masked"] / best["full"], "median": median["masked"] / median["full"]}
    print(f"speed-up of masked over full: {speedup['best']:.2f}x (best), {speedup['median']:.2f}x (median)")
    if args.json:
        result = {
            "settings": {key: str(value) if isinstance(value, Path) else value for key, value in vars(args).items()},
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "machine": platform.processor() or platform.machine(),
            "load_average_after": os.getloadavg(),  # other processes on the machine skew the timings
            "clock": "CPU time (process_time), order alternated per round",
            "tokens_per_cpu_second": rates,
            "best_tokens_per_cpu_second": best,
            "median_tokens_per_cpu_second": median,
            "speedup": speedup,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
