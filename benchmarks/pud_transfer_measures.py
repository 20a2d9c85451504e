"""What sets English apart from each PUD language for an encoder: subword overlap and URIEL distances.

For each PUD target, the subword overlap between the English POS training text and the target's PUD test text
under the model's tokenizer (type Jaccard, token coverage; words tokenized one by one, as the tagging task feeds
them; the unknown token left out), URIEL's typological distances from English (Littell et al. 2017, lang2vec
1.1.2's data, offline) and script match. Reads the real data folder (../shared/data); prints a table, or JSON.

    python benchmarks/pud_transfer_measures.py [--model runs/models/e5-small] [--data ../shared/data]
                                               [--train ud/en/en_lines-ud-train.conllu] [--sentences 1500] [--json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mbert_eval.analysis.overlap import model_tokenizer, subword_counts, subword_overlap
from mbert_eval.analysis.typology import DISTANCES, SOURCE, distances
from mbert_eval.data.conllu import read_conllu

PUD_TARGETS = ("ar", "de", "es", "fr", "hi", "ru", "zh")


def measures(model: Path, data: Path, train: str, sentences: int) -> list[dict[str, float | str]]:
    """One record per PUD target: overlap with the English training text, then every distance from English."""
    tokenize, unknown = model_tokenizer(model)
    english = [s.tokens for s in read_conllu(data / train)[:sentences]]
    source = subword_counts(english, tokenize, unknown)
    records = []
    for target in PUD_TARGETS:
        test = [s.tokens for s in read_conllu(data / "ud" / "pud" / f"{target}_pud-ud-test.conllu")]
        overlap = subword_overlap(source, subword_counts(test, tokenize, unknown))
        records.append(
            {
                "target": target,
                "type_jaccard": overlap.type_jaccard,
                "token_coverage": overlap.token_coverage,
                **distances("en", target),
            }
        )
    return records


def main() -> None:
    """Print the measures per target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("runs/models/e5-small"))
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--train", default="ud/en/en_lines-ud-train.conllu")
    parser.add_argument("--sentences", type=int, default=1500)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    records = measures(args.model, args.data, args.train, args.sentences)
    if args.json:
        print(json.dumps({"source": SOURCE, "records": records}, indent=2))
        return
    columns = ["type_jaccard", "token_coverage", *DISTANCES, "script_match"]
    print(f"English ({args.train}, first {args.sentences} sentences) -> PUD test; distances: {SOURCE}")
    print("target  " + "  ".join(f"{name:>14}" for name in columns))
    for record in records:
        print(f"{record['target']:<6}  " + "  ".join(f"{record[name]:>14.3f}" for name in columns))


if __name__ == "__main__":
    main()
