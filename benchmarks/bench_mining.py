"""BUCC mining of 10k × 10k sentences: the suite's neighbour search vs a brute-force dense matrix (goal: the same
pairs in less memory, at no more time).

Every variant mines the same embeddings with `metrics.mining.mine` (ratio margin, k = 4, Artetxe & Schwenk
2019), changing only how the exact nearest neighbours are found: `dense` computes the whole n × m similarity
matrix and takes its top-k along both axes (the brute force); `tiles` runs over tiles of the matrix with
running top-k lists of rows and columns; `faiss` searches a flat inner-product index both ways (only where
faiss is installed); the task's `auto` picks faiss where installed, else tiles. The embeddings are random
unit vectors of dimension 384 (multilingual-e5-small's width), no model needed, with planted pairs (a noisy
copy of a source among the targets) so that the mined pairs mean something. A round runs each variant once,
in a fresh process (after a small warm-up), the order of the variants reversed every other round, and the medians
over rounds are reported: CPU time (`time.process_time`, so that other load on the machine does not count; 1
thread by default), and the peak resident set of mining alone (VmHWM reset before it, less the resident set then).

    python benchmarks/bench_mining.py [--n 10000] [--dim 384] [--pairs 1000] [--rounds 5] [--threads 1] [--json out.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from mbert_eval.metrics import mining


def embeddings(n: int, dim: int, pairs: int) -> tuple[torch.Tensor, torch.Tensor, set[tuple[int, int]]]:
    """n sources and n targets; source i < `pairs` has a noisy copy at a random target row."""
    generator = torch.Generator().manual_seed(0)
    source, target = torch.randn(n, dim, generator=generator), torch.randn(n, dim, generator=generator)
    rows = torch.randperm(n, generator=generator)[:pairs]
    target[rows] = source[:pairs] + 0.5 * torch.randn(pairs, dim, generator=generator)
    return source, target, {(i, int(row)) for i, row in enumerate(rows)}


def _status(field: str) -> float:
    """A /proc/self/status field in MiB."""
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith(field))
    return int(line.split()[1]) / 1024


def run_variant(method: str, args: argparse.Namespace) -> dict:
    """Time and memory of mining once with one neighbour method, in this (fresh) process."""
    source, target, gold = embeddings(args.n, args.dim, args.pairs)
    mining.mine(source[:500], target[:500], method=method)  # warm-up: library initialization, thread pools
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current resident set
    resident = _status("VmRSS")
    start = time.process_time()
    candidates = mining.mine(source, target, method=method)
    seconds = time.process_time() - start
    peak = _status("VmHWM") - resident
    pairs = sorted(zip(candidates.source.tolist(), candidates.target.tolist()))
    best = mining.scores_at(candidates, gold, mining.choose_threshold(candidates, gold))
    return {
        "cpu_seconds": seconds,
        "peak_mib": peak,
        "best_f1": round(best.f1, 4),
        "pairs_sha": hashlib.sha256(json.dumps(pairs).encode()).hexdigest()[:16],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000, help="sentences on each side")
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--pairs", type=int, default=1000, help="planted translation pairs")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch's (and faiss's) CPU threads (default: 1)")
    parser.add_argument("--variant", help=argparse.SUPPRESS)  # the child process's one method
    parser.add_argument("--json", help="Also write the numbers to this file.")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if mining.load_faiss() is not None:
        mining.load_faiss().omp_set_num_threads(args.threads)
    if args.variant:
        print(json.dumps(run_variant(args.variant, args)))
        return
    faiss = mining.load_faiss()
    methods = ["dense", "tiles"] + (["faiss"] if faiss is not None else [])
    child = [
        sys.executable,
        __file__,
        "--n",
        str(args.n),
        "--dim",
        str(args.dim),
        "--pairs",
        str(args.pairs),
        "--threads",
        str(args.threads),
        "--variant",
    ]
    runs: dict[str, list[dict]] = {method: [] for method in methods}
    for round_index in range(args.rounds):  # interleaved and alternated: no variant always runs first or last
        for method in methods if round_index % 2 == 0 else methods[::-1]:
            done = subprocess.run(child + [method], check=True, capture_output=True, text=True)
            runs[method].append(json.loads(done.stdout))
    rows = {
        method: {
            "method": method,
            "cpu_seconds": round(statistics.median(r["cpu_seconds"] for r in found), 3),
            "peak_mib": round(statistics.median(r["peak_mib"] for r in found), 1),
            "best_f1": found[0]["best_f1"],
            "pairs_sha": found[0]["pairs_sha"],
            "consistent": len({r["pairs_sha"] for r in found}) == 1,
        }
        for method, found in runs.items()
    }
    dense = rows["dense"]
    for row in rows.values():
        row["time_ratio"] = round(row["cpu_seconds"] / dense["cpu_seconds"], 3)  # below 1: faster than brute force
        row["memory_ratio"] = round(row["peak_mib"] / dense["peak_mib"], 3)
        row["same_pairs_as_dense"] = row["pairs_sha"] == dense["pairs_sha"]
    result = {
        "n": args.n,
        "dim": args.dim,
        "planted_pairs": args.pairs,
        "threads": torch.get_num_threads(),
        "clock": "CPU time (process_time), variants alternated per round",
        "auto_picks": "faiss" if faiss is not None else "tiles",
        "variants": list(rows.values()),
    }
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
