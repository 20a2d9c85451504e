"""Word-aligner throughput: our batched WordAligner vs simalign 0.4's SentenceAligner.get_word_aligns (goal ≥ 10×).

Both sides align the same PUD en-de pairs (the first --pairs of the 1000 parallel sentences, CoNLL-U word
tokens) with the same local model folder, layer and matching methods (default all three, simalign "mai"),
after a short warm-up, and the links are compared pair by pair. Ours is timed before and after simalign
and averaged, so that both see the same load on a shared machine. Ours runs once per --dtypes entry
(float32: simalign's arithmetic, so its links; bfloat16: the encoder in bf16), with the bare `▁` pieces of a
SentencePiece model kept as simalign keeps them (the suite's default leaves them out: README). For each, the encoder
forward passes are also timed alone: simalign does the same forward arithmetic, so simalign's time over
that is the most any float32 aligner can gain (the "bound" column). Without --model a randomly initialised BERT of
--preset size (default mini: 4 layers, 256 hidden) with a WordPiece tokenizer trained on the PUD en+de text is
built in a temporary folder; the layer defaults to min(8, depth). Torch runs --threads threads (default 1:
on a shared CPU, more threads than free cores slow simalign's two-sentence forward passes far more than ours,
which would inflate the ratio).

    python benchmarks/bench_aligner.py [--model PATH] [--preset mini] [--pairs 500] [--layer L]
                                       [--methods argmax,itermax,match] [--dtypes float32,bfloat16]
                                       [--threads 1] [--device cpu] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from mbert_eval.aligner.word_aligner import WordAligner, WordAlignerConfig
from mbert_eval.data import read_conllu
from mbert_eval.pretraining.loop import SIZE_PRESETS, new_model
from mbert_eval.pretraining.tokenizer import train_tokenizer

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


def timed_align(aligner: WordAligner, pairs: list) -> tuple[dict, float]:
    """Links of `aligner` on `pairs` and the seconds they took."""
    start = time.perf_counter()
    links = aligner.align(pairs)
    return links, time.perf_counter() - start


def forward_seconds(aligner: WordAligner, pairs: list) -> float:
    """Seconds of the encoder forward passes alone (tokenized input, the aligner's own batches): the part of the
    work simalign does too, with the same arithmetic, so simalign's time over it bounds the float32 speedup."""
    sentences = [side for pair in pairs for side in pair]
    ids = aligner.tokenizer(sentences, is_split_into_words=True, add_special_tokens=False)["input_ids"]
    start = time.perf_counter()
    aligner._embed(ids)  # the one step measured alone
    if aligner.device.type == "cuda":
        torch.cuda.synchronize(aligner.device)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="Local model folder (default: build a random --preset BERT).")
    parser.add_argument("--preset", default="mini", choices=sorted(SIZE_PRESETS))
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--layer", type=int, help="Hidden layer (default min(8, depth)).")
    parser.add_argument("--methods", default="argmax,itermax,match")
    parser.add_argument("--dtypes", default="float32,bfloat16", help="Encoder precisions of ours to time.")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for both sides.")
    parser.add_argument("--device", default="cpu", help="Device of both sides: cpu, cuda, ...")
    parser.add_argument("--json", help="Also write the numbers to this file.")
    args = parser.parse_args()
    import transformers
    from simalign import SentenceAligner

    transformers.logging.set_verbosity_error()  # simalign loads a BertModel from an MLM folder: a long load report
    torch.set_num_threads(args.threads)
    methods = tuple(args.methods.split(","))
    pairs = pud_pairs(args.pairs)
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or str(build_model(Path(tmp), args.preset))
        depth = json.loads((Path(model) / "config.json").read_text())["num_hidden_layers"]
        layer = args.layer if args.layer is not None else min(8, depth)
        letters = "".join(SIMALIGN_LETTERS[m] for m in methods)
        reference = SentenceAligner(model=model, matching_methods=letters, device=args.device, layer=layer)
        ours = {
            dtype: WordAligner(
                WordAlignerConfig(  # bare `▁` pieces kept, as simalign keeps them: the same units, so its links
                    model,
                    layer=layer,
                    methods=methods,
                    batch_size=args.batch_size,
                    device=args.device,
                    dtype=dtype,
                    skip_space_markers=False,
                )
            )
            for dtype in args.dtypes.split(",")
        }
        for aligner in ours.values():
            aligner.align(pairs[:20])
        for source, target in pairs[:5]:
            reference.get_word_aligns(source, target)

        before = {dtype: timed_align(aligner, pairs) for dtype, aligner in ours.items()}
        start = time.perf_counter()
        expected = [reference.get_word_aligns(source, target) for source, target in pairs]
        simalign_s = time.perf_counter() - start
        result = {
            "pairs": len(pairs),
            "model": args.model or f"random {args.preset}",
            "layer": layer,
            "device": args.device,
            "methods": list(methods),
            "threads": torch.get_num_threads(),
            "simalign_s": simalign_s,
            "simalign_pairs_per_s": len(pairs) / simalign_s,
            "ours": {},
        }
        for dtype, aligner in ours.items():
            links, before_s = before[dtype]
            ours_s = (before_s + timed_align(aligner, pairs)[1]) / 2  # before and after simalign: the same load
            forward_s = forward_seconds(aligner, pairs)
            equal = {
                m: sum(sorted(a.possible) == r[SIMALIGN_NAMES[m]] for a, r in zip(links[m], expected)) for m in methods
            }
            result["ours"][dtype] = {
                "seconds": ours_s,
                "pairs_per_s": len(pairs) / ours_s,
                "speedup": simalign_s / ours_s,
                "forward_s": forward_s,
                "speedup_bound": simalign_s / forward_s,
                "pairs_with_equal_links": equal,
            }

    print(
        f"{len(pairs)} PUD en-de pairs, {result['model']}, layer {layer}, methods {','.join(methods)}, "
        f"{args.device}, {result['threads']} threads"
    )
    print(f"simalign          {result['simalign_pairs_per_s']:8.1f} pairs/s ({simalign_s:.2f} s)")
    for dtype, row in result["ours"].items():
        print(
            f"ours {dtype:<12} {row['pairs_per_s']:8.1f} pairs/s ({row['seconds']:.2f} s, encoder forward "
            f"{row['forward_s']:.2f} s): {row['speedup']:.1f}x (bound {row['speedup_bound']:.1f}x); "
            "pairs with simalign's links: "
            + ", ".join(f"{m} {n}/{len(pairs)}" for m, n in row["pairs_with_equal_links"].items())
        )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
