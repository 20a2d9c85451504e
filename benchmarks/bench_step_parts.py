"""Where one fine-tuning step's CPU time goes: forward, backward, clipping and AdamW, with the word-embedding
matrix's gradient dense (what torch and Trainer do) or sparse, the suite's AdamW updating the touched rows
(`training/optim.py: AdamW`, what `fine_tune` does on a CPU). The suite's own `adamw` and `clip_gradients` in both;
a token classifier on random ids (batch × length), the first step untimed, one process per way and round,
alternated (dense, sparse, dense, ...), 1 thread by default.

    python benchmarks/bench_step_parts.py --model runs/models/e5-small [--rounds 2] [--steps 5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

PARTS = ("forward", "backward", "clip", "adamw")


def measure(model_path: str, sparse: bool, steps: int, batch: int, length: int, threads: int) -> dict[str, float]:
    """Mean CPU seconds per step of each part over `steps` steps after an untimed one."""
    import torch
    from transformers import AutoModelForTokenClassification

    from mbert_eval.training.optim import adamw, clip_gradients

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = AutoModelForTokenClassification.from_pretrained(model_path, num_labels=17)
    embedding = model.get_input_embeddings()
    embedding.sparse = sparse
    optimizer = adamw(model, 2e-5)
    draw = torch.Generator().manual_seed(0)
    model.train()
    spent = dict.fromkeys(PARTS, 0.0)
    for step in range(steps + 1):
        ids = torch.randint(5, embedding.num_embeddings, (batch, length), generator=draw)
        labels = torch.randint(0, 17, (batch, length), generator=draw)
        marks = [time.process_time()]
        loss = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels).loss
        marks.append(time.process_time())
        loss.backward()
        marks.append(time.process_time())
        clip_gradients(list(model.parameters()), 1.0)
        marks.append(time.process_time())
        optimizer.step()
        marks.append(time.process_time())
        optimizer.zero_grad(set_to_none=True)
        if step:  # the first step allocates the optimizer's state
            for part, start, end in zip(PARTS, marks, marks[1:]):
                spent[part] += (end - start) / steps
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="runs/models/e5-small")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--length", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--one", choices=("dense", "sparse"), help=argparse.SUPPRESS)  # a child process's way
    args = parser.parse_args()
    if args.one:
        spent = measure(args.model, args.one == "sparse", args.steps, args.batch, args.length, args.threads)
        print(json.dumps(spent))
        return
    results: dict[str, list[dict[str, float]]] = {"dense": [], "sparse": []}
    for _ in range(args.rounds):
        for way in results:
            command = [sys.executable, __file__, *sys.argv[1:], "--one", way]
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            results[way].append(json.loads(output.strip().splitlines()[-1]))
            print(way, {part: round(seconds, 3) for part, seconds in results[way][-1].items()}, flush=True)
    totals = {way: sum(sum(r.values()) for r in rounds) / len(rounds) for way, rounds in results.items()}
    print(
        f"CPU s per step: dense {totals['dense']:.3f}, sparse {totals['sparse']:.3f}; "
        f"sparse/dense {totals['sparse'] / totals['dense']:.3f}"
    )


if __name__ == "__main__":
    main()
