"""The `mbert-eval` command line. Thin: parse, call, print; one file per command group.

A user error (bad file, unknown language, typo in a config) ends in one line on stderr and exit
code 2, never a traceback; whatever was already computed stays in the store.

experiments: validate, run, results · listing: ls · corpora: synth, text, pretrain, mining-mix · quickstart ·
report · align: align, align-eval · schedule · models. `main` is the console script `mbert-eval`.
"""

from __future__ import annotations

import click

from mbert_eval.cli.align import align, align_eval
from mbert_eval.cli.corpora import mining_mix, pretrain, synth, text
from mbert_eval.cli.experiments import results, run, validate
from mbert_eval.cli.group import Group
from mbert_eval.cli.listing import ls
from mbert_eval.cli.models import models
from mbert_eval.cli.quickstart import quickstart
from mbert_eval.cli.report import report
from mbert_eval.cli.schedule import schedule


@click.group(cls=Group)
@click.version_option(package_name="mbert-eval")
def main() -> None:
    """Zero-shot cross-lingual transfer evaluation for multilingual encoders."""


for command in (
    validate,
    run,
    results,
    report,
    align,
    align_eval,
    schedule,
    models,
    ls,
    synth,
    text,
    pretrain,
    mining_mix,
    quickstart,
):
    main.add_command(command)
