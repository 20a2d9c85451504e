"""Peak memory and speed of pretraining under glibc's default malloc vs a fixed mmap threshold of 1 MiB.

A finding, not a fix yet: with glibc's default (an mmap threshold that rises as large blocks are freed), the
resident memory of CPU pretraining grows with the number of steps (heap fragmentation by tensors of varying
sizes). Setting ``MALLOC_MMAP_THRESHOLD_`` keeps it flat but makes every large tensor a fresh mapping, which
costs speed. Each side pretrains the same model on the same corpus in a fresh Python process (the fixed side
first, so that the baseline does not profit from a warm page cache): --preset size, a WordPiece tokenizer of
--vocab-size, --steps steps. The corpus is the text of the PUD treebanks and of English LinES from
../shared/data (one file a language), or --corpus files. Each process reports its own peak resident memory
(``getrusage``) and the pretraining's tokens per second (``pretrain.json``).

    python benchmarks/bench_pretrain_memory.py [--preset mini] [--vocab-size 16000] [--steps 100]
                                               [--corpus F ...] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from mbert_eval.data import read_conllu

UD = Path(__file__).resolve().parents[2] / "shared" / "data" / "ud"
CHILD = """
import json, resource, sys
from pathlib import Path
from mbert_eval.pretraining.loop import PretrainConfig, pretrain
settings = json.loads(sys.argv[1])
corpus = [Path(p) for p in settings.pop("corpus")]
folder = pretrain(PretrainConfig(corpus=corpus, **settings), progress=False)
record = json.loads((folder / "pretrain.json").read_text())
print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "tokens_per_second": record["tokens_per_second"], "steps": record["steps"]}))
"""


def default_corpus(folder: Path) -> list[Path]:
    """One text file a language: the PUD sentences of each language, plus English LinES train for English."""
    files = []
    for path in sorted((UD / "pud").glob("*_pud-ud-test.conllu")):
        language = path.name.split("_")[0]
        sources = [path] + (sorted((UD / "en").glob("*-train.conllu")) if language == "en" else [])
        text = folder / f"{language}.txt"
        text.write_text(
            "".join(" ".join(s.tokens) + "\n" for source in sources for s in read_conllu(source)), encoding="utf-8"
        )
        files.append(text)
    return files


def measure(settings: dict, fixed: bool) -> dict:
    """Pretrain in a fresh process (with glibc's mmap threshold fixed at 1 MiB or not); its peak memory and speed."""
    environment = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(1 << 20)} if fixed else None
    output = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(settings)], env=environment, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="mini")
    parser.add_argument("--vocab-size", type=int, default=16000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--corpus", nargs="+", help="Text files (default: PUD + English LinES from ../shared/data).")
    parser.add_argument("--json", help="Also write the numbers to this file.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = args.corpus or [str(p) for p in default_corpus(Path(tmp))]
        settings = {
            "corpus": corpus,
            "preset": args.preset,
            "vocab_size": args.vocab_size,
            "max_steps": args.steps,
            "learning_rate": 3e-4,
        }
        fixed = measure({**settings, "out_dir": str(Path(tmp) / "fixed")}, fixed=True)
        default = measure({**settings, "out_dir": str(Path(tmp) / "default")}, fixed=False)
    result = {
        "preset": args.preset,
        "vocab_size": args.vocab_size,
        "steps": args.steps,
        "corpus_files": len(corpus),
        "glibc_default": default,
        "fixed_threshold": fixed,
        "peak_memory_ratio": default["peak_rss_mb"] / fixed["peak_rss_mb"],
        "speed_ratio": fixed["tokens_per_second"] / default["tokens_per_second"],
    }
    for name in ("glibc_default", "fixed_threshold"):
        row = result[name]
        print(f"{name:<16} peak {row['peak_rss_mb']:7.0f} MB  {row['tokens_per_second']:8.0f} tokens/s")
    print(
        f"peak memory {result['peak_memory_ratio']:.2f}x lower with the fixed threshold; "
        f"speed ratio (fixed / default) {result['speed_ratio']:.2f}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
