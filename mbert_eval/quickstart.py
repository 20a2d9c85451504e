"""The offline quickstart: synthetic family → tiny multilingual BERT → zero-shot grid → HTML page.

Everything is cached: the family and the pretrained model are reused when their configs match, and
the store skips finished cells, so a second run only rewrites the report.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from mbert_eval.config import load_experiment
from mbert_eval.pretrain import PretrainConfig, pretrain
from mbert_eval.report import write_report
from mbert_eval.runner import RunSummary, run_experiment
from mbert_eval.store import ResultStore
from mbert_eval.synthetic import SynthConfig, generate_family

FAMILY = SynthConfig(n_languages=4, seed=0)
PRETRAINING = dict(preset="tiny", tokenizer="wordpiece", vocab_size=2000, max_steps=2400, batch_size=32,
                   learning_rate=5e-4, max_length=64, seed=0)
TRAINING = {"learning_rate": 5e-4, "batch_size": 32, "max_length": 128}  # a tiny model takes larger steps
EPOCHS = {"pos": 5, "paraphrase": 10}


def quickstart_config(family_dir: Path, model_dir: Path, codes: list[str]) -> dict:
    """The experiment the quickstart runs, as the YAML a user could edit and rerun."""
    source, targets = codes[0], codes  # the source as a target too: the in-language reference
    return {
        "name": "quickstart",
        "models": [str(model_dir)],
        "sources": [source],
        "targets": targets,
        "methods": ["baseline"],
        "seeds": [1],
        "training": TRAINING,
        "output": ".",
        "tasks": {
            "pos": {
                "train": str(family_dir / "pos" / "{lang}-train.conllu"),
                "dev": str(family_dir / "pos" / "{lang}-dev.conllu"),
                "test": str(family_dir / "pos" / "{lang}-test.conllu"),
                "epochs": EPOCHS["pos"],
            },
            "paraphrase": {
                "train": str(family_dir / "pairs" / "{lang}-train.tsv"),
                "dev": str(family_dir / "pairs" / "{lang}-dev.tsv"),
                "test": str(family_dir / "pairs" / "{lang}-test.tsv"),
                "epochs": EPOCHS["paraphrase"],
            },
        },
    }


def run_quickstart(out: Path, report: Path) -> tuple[RunSummary, Path]:
    """Run (or resume) the quickstart in `out` and write the results page to `report`; return what the run did
    and the page's path."""
    out = out.resolve()
    family = generate_family(out / "synth", FAMILY)
    codes = [language.code for language in family.languages]
    model_dir = pretrain(PretrainConfig(
        corpus=[family.mono(code) for code in codes], out_dir=out / "model", **PRETRAINING
    ))
    config_path = out / "quickstart.yaml"
    config_path.write_text(yaml.safe_dump(quickstart_config(out / "synth", model_dir, codes), sort_keys=False))
    experiment, problems = load_experiment(config_path)
    summary = run_experiment(experiment, problems=problems)
    title = "mbert-eval quickstart: zero-shot transfer"
    return summary, write_report(ResultStore(summary.store), report, title, experiment=experiment)
