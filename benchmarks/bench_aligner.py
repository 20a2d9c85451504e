"""Word-aligner throughput: our batched WordAligner vs simalign 0.4's SentenceAligner.get_word_aligns (goal ≥ 10×).

Both sides align the same PUD en-de pairs (the first --pairs of the 1000 parallel sentences, CoNLL-U word
tokens) with the same local model folder, layer and matching methods (default all three, simalign "mai"),
after a short warm-up, and the links are compared pair by pair. Ours is timed before and after simalign
and averaged, so that both see the same load on a shared machine. Without --model a randomly initialised BERT of
--preset size (default mini: 4 layers, 256 hidden) with a WordPiece tokenizer trained on the PUD en+de text is
built in a temporary folder; the layer defaults to min(8, depth). Torch runs --threads threads (default 1:
on a shared CPU, more threads than free cores slow simalign's two-sentence forward passes far more than ours,
which would inflate the ratio).

    python benchmarks/bench_aligner.py [--model PATH] [--preset mini] [--pairs 500] [--layer L]
                                       [--methods argmax,itermax,match] [--threads 1] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from mbert_eval.data import read_conllu
from mbert_eval.methods.aligner import AlignerConfig, WordAligner
from mbert_eval.pretrain import SIZE_PRESETS, new_model
from mbert_eval.tokenizer_training import train_tokenizer

PUD = Path(__file__).resolve().parents[2] / "shared" / "data" / "ud" / "pud"
SIMALIGN_LETTERS = {"argmax": "a", "itermax": "i", "match": "m"}
SIMALIGN_NAMES = {"argmax": "inter", "itermax": "itermax", "match": "mwmf"}


def pud_pairs(n: int) -> list[tuple[list[str], list[str]]]:
    """The first n English-German PUD sentence pairs as word lists."""
    english = read_conllu(PUD / "en_pud-ud-test.conllu")[:n]
    german = read_conllu(PUD / "de_pud-ud-test.conllu")[:n]
    return [(list(e.tokens), list(g.tokens)) for e, g in zip(english, german)]


def build_model(folder: Path, preset: str) -> Path:
    """A random BERT of `preset` size with a 16k WordPiece tokenizer trained on the PUD en+de text."""
    corpus = []
    for language in ("en", "de"):
        path = folder / f"{language}.txt"
        path.write_text("".join(" ".join(s.tokens) + "\n" for s in read_conllu(PUD / f"{language}_pud-ud-test.conllu")))
        corpus.append(path)
    tokenizer = train_tokenizer(corpus, "wordpiece", 16000, folder / "model")
    torch.manual_seed(0)
    new_model(preset, len(tokenizer), tokenizer.pad_token_id).save_pretrained(folder / "model")
    return folder / "model"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="Local model folder (default: build a random --preset BERT).")
    parser.add_argument("--preset", default="mini", choices=sorted(SIZE_PRESETS))
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--layer", type=int, help="Hidden layer (default min(8, depth)).")
    parser.add_argument("--methods", default="argmax,itermax,match")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for both sides.")
    parser.add_argument("--json", help="Also write the numbers to this file.")
    args = parser.parse_args()
    from simalign import SentenceAligner

    torch.set_num_threads(args.threads)
    methods = tuple(args.methods.split(","))
    pairs = pud_pairs(args.pairs)
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or str(build_model(Path(tmp), args.preset))
        depth = json.loads((Path(model) / "config.json").read_text())["num_hidden_layers"]
        layer = args.layer if args.layer is not None else min(8, depth)
        ours = WordAligner(AlignerConfig(model, layer=layer, methods=methods, batch_size=args.batch_size, device="cpu"))
        letters = "".join(SIMALIGN_LETTERS[m] for m in methods)
        reference = SentenceAligner(model=model, matching_methods=letters, device="cpu", layer=layer)
        ours.align(pairs[:20])
        for source, target in pairs[:5]:
            reference.get_word_aligns(source, target)

        start = time.perf_counter()
        links = ours.align(pairs)
        ours_before = time.perf_counter() - start
        start = time.perf_counter()
        expected = [reference.get_word_aligns(source, target) for source, target in pairs]
        simalign_s = time.perf_counter() - start
        start = time.perf_counter()
        ours.align(pairs)
        ours_s = (ours_before + time.perf_counter() - start) / 2  # before and after simalign: the same CPU load

    equal = {m: sum(sorted(a.possible) == r[SIMALIGN_NAMES[m]] for a, r in zip(links[m], expected)) for m in methods}
    result = {
        "pairs": len(pairs), "model": args.model or f"random {args.preset}", "layer": layer, "methods": list(methods),
        "threads": torch.get_num_threads(), "ours_s": ours_s, "simalign_s": simalign_s,
        "ours_pairs_per_s": len(pairs) / ours_s, "simalign_pairs_per_s": len(pairs) / simalign_s,
        "speedup": simalign_s / ours_s, "pairs_with_equal_links": equal,
    }
    print(f"{len(pairs)} PUD en-de pairs, {result['model']}, layer {layer}, methods {','.join(methods)}, "
          f"{result['threads']} threads")
    print(f"ours     {result['ours_pairs_per_s']:8.1f} pairs/s ({ours_s:.2f} s)")
    print(f"simalign {result['simalign_pairs_per_s']:8.1f} pairs/s ({simalign_s:.2f} s)")
    print(f"speedup  {result['speedup']:8.1f}x; pairs with equal links: "
          + ", ".join(f"{m} {n}/{len(pairs)}" for m, n in equal.items()))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
