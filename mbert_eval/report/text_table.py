"""The stored results as a text table (for `mbert-eval results` and the end of a run) or as CSV / JSON exports.

People read percent with one decimal; exports carry the stored fraction rounded to `DECIMALS` places, the unit in
the column name (`score (fraction)`), so that no float noise (0.07499999999999996) reaches a spreadsheet."""

from __future__ import annotations

import json
import sys
from collections.abc import Collection, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from mbert_eval.report.names import with_display_names
from mbert_eval.report.roles import main_metrics
from mbert_eval.report.tables import as_is, limited_note, percent
from mbert_eval.report.xtreme import XTREME_TASKS, describe_coverage, xtreme_scores
from mbert_eval.store.examples import read_examples
from mbert_eval.store.outputs import check_output, store_paths, write_output
from mbert_eval.store.results import COLUMNS, ResultStore

if TYPE_CHECKING:
    import pandas as pd

SHOWN = ["task", "model", "method", "source", "target", "seed", "metric", "score (%)", "95% CI", "n", "config_hash"]
GROUP = ["task", "model", "method", "source", "target", "metric"]
DECIMALS = 4  # exports: fractions rounded to this many places
SCORE_COLUMN = "score (fraction)"


def _interval(extra: object, score: float, store: Path) -> str | None:
    """A row's stored 95% interval in percent ("" when it has none); None where the per-example outputs it was
    computed from do not give the row's score back (written by an older version of a task's code)."""
    if not isinstance(extra, dict) or extra.get("ci_low") is None or extra.get("ci_high") is None:
        return ""
    outputs = read_examples(store, extra.get("examples"))
    if outputs is not None and not outputs.gives_back(score):
        return None
    return f"[{100 * extra['ci_low']:.1f}, {100 * extra['ci_high']:.1f}]"


def _shown(value: float, unscaled: bool) -> str:
    """A score in percent with one decimal; a metric that is no fraction (`MetricRole.fraction`) as it is, to
    four significant digits (as the report's tables write them)."""
    return as_is(value) if unscaled else percent(value)


def format_results(
    store: ResultStore, all_metrics: bool = False, per_seed: bool = False, cell_keys: Collection[str] | None = None
) -> str:
    """A readable table of stored scores in percent (one decimal): per (task, model, method, source, target) the
    mean over seeds (cells of the same seed averaged first), ± the sample std when there are several seeds, the
    row's 95% interval when there is one cell, the test-set size n and the seed count; or one row per seed with
    `per_seed`; models by display name; main metric per task (the stored one, else guessed) unless `all_metrics`;
    a limited run's rows marked. With `cell_keys` (a run's grid), those cells' rows only, and a line saying how
    many rows of other grids the store holds (else a seed's mean would mix in the cells of other settings)."""
    frame = store.dataframe()
    others = ""
    if cell_keys is not None and not frame.empty:
        mine = frame["cell_key"].isin(set(cell_keys))
        if not mine.all():
            others = (
                f"\n{int((~mine).sum())} rows of other grids in this store are left out "
                f"(all of them: mbert-eval results --store {store.path})"
            )
        frame = frame[mine]
    rows = frame  # what the XTREME score below is computed from
    if frame.empty:
        return f"no results stored in {store.path}" + others
    roles = store.metric_roles()
    if not all_metrics:
        main = main_metrics(zip(frame["task"], frame["metric"]), roles)
        frame = frame[frame["metric"] == frame["task"].map(main)]
    unscaled = {(role.task, role.metric) for role in roles if not role.fraction}  # shown as they are, not in %
    frame = with_display_names(frame)
    intervals = [_interval(extra, score, store.path) for extra, score in zip(frame["extra"], frame["score"])]
    frame["95% CI"] = [interval or "" for interval in intervals]
    unbacked = sum(interval is None for interval in intervals)
    unbacked_note = (
        f"\nno 95% CI for {unbacked} row(s): their per-example outputs do not give their scores back (an older "
        "version of the task's code wrote them; a rerun recomputes them)"
        if unbacked
        else ""
    )
    frame["n"] = frame["n_examples"]
    limits = sorted({int(e["limit"]) for e in frame["extra"] if isinstance(e, dict) and e.get("limit") is not None})
    banner = f"{limited_note(limits)}\n" if limits else ""
    if per_seed:
        frame["score (%)"] = [
            _shown(score, (task, metric) in unscaled)
            for score, task, metric in zip(frame["score"], frame["task"], frame["metric"])
        ]
        return banner + frame[SHOWN].to_string(index=False) + unbacked_note + others
    seeds = (  # cells of the same seed (other settings in one store) averaged first, so each seed weighs once
        frame.groupby(GROUP + ["seed"], sort=True)
        .agg(score=("score", "mean"), cells=("score", "size"), n=("n", "max"), ci=("95% CI", "first"))
        .reset_index()
    )
    grouped = seeds.groupby(GROUP, sort=True)
    summary = grouped["score"].agg(["mean", "std", "count"]).reset_index()
    summary["n"] = grouped["n"].max().to_numpy()
    cells, single = grouped["cells"].sum().to_numpy(), grouped["ci"].first().to_numpy()
    summary["score (%)"] = [
        _shown(m, (task, metric) in unscaled) + ("" if n < 2 else f" ± {_shown(sd, (task, metric) in unscaled)}")
        for m, sd, n, task, metric in zip(
            summary["mean"], summary["std"], summary["count"], summary["task"], summary["metric"]
        )
    ]
    summary["95% CI"] = [ci if count == 1 else "" for ci, count in zip(single, cells)]
    summary = summary.rename(columns={"count": "seeds"})
    shown = GROUP + ["score (%)"] + (["95% CI"] if summary["95% CI"].str.len().any() else []) + ["n", "seeds"]
    legend = (
        "\nscore: mean over seeds (± sample std with several); 95% CI: bootstrap over test examples; n: test examples"
    )
    shown_as_is = sorted(
        {f"{task} {metric}" for task, metric in unscaled} & set(summary["task"] + " " + summary["metric"])
    )
    if shown_as_is:
        legend += f"\nshown as they are, not in %: {', '.join(shown_as_is)}"
    merged = int((seeds["cells"] > 1).sum())
    if merged:
        legend += (
            f"\n{merged} seed scores average several cells of the same seed (other settings); they have no 95% CI "
            "(a task variant, TASK:LABEL, keeps settings apart)"
        )
    return banner + summary[shown].to_string(index=False) + legend + unbacked_note + others + format_xtreme(store, rows)


def format_xtreme(store: ResultStore, frame: pd.DataFrame | None = None) -> str:
    """The XTREME score below the table (empty when the store holds none of XTREME's tasks): per model, method
    and source each task's average over its languages and the average over the tasks present, with what each
    covers and `partial` where tasks or languages are missing; of `frame`'s rows (default: the store's)."""
    rows = store.dataframe() if frame is None else frame
    scores = xtreme_scores(with_display_names(rows), store.metric_roles())
    if scores is None:
        return ""
    lines = ["", "XTREME score (Hu et al. 2020): per task the mean over its languages; the average over the tasks"]
    for overall in scores.overall.to_dict("records"):
        flag = " (partial)" if overall["partial"] else ""
        score = "n/a" if overall["score"] != overall["score"] else f"{100 * overall['score']:.1f}"  # NaN: none counted
        lines.append(
            f"{overall['model']} {overall['method']} from {overall['source']}: "
            f"{score}{flag} over {len(overall['tasks'])} of {len(XTREME_TASKS)} tasks"
            + (f" (missing: {', '.join(overall['missing_tasks'])})" if overall["missing_tasks"] else "")
        )
        tasks = scores.tasks[
            (scores.tasks["model"] == overall["model"])
            & (scores.tasks["method"] == overall["method"])
            & (scores.tasks["source"] == overall["source"])
        ]
        for task in tasks.to_dict("records"):
            score = "  n/a" if task["score"] != task["score"] else f"{100 * task['score']:5.1f}"  # NaN: none counted
            lines.append(
                f"  {task['xtreme']:<8} {score}{' (partial)' if task['partial'] else ''}  "
                + describe_coverage(task["languages"], task["missing"], task["shared"])
            )
    return "\n".join(lines)


def export_rows(store: ResultStore, path: str, kind: str, protected: Sequence[Path] = ()) -> None:
    """Write every stored row (all columns; the score as `score (fraction)`, rounded to DECIMALS places, and
    `as_is` true where the metric is no fraction: `MetricRole.fraction`) as CSV or JSON to `path` ('-' for
    stdout); never onto the store, any database or a `protected` file (what the rows were computed from:
    `outputs.write_output`)."""
    protected = [*store_paths(store.path), *protected]
    if path != "-":
        check_output(Path(path), protected, f"the {kind} export")
    unscaled = {(role.task, role.metric) for role in store.metric_roles() if not role.fraction}
    rows = [asdict(row) for row in store.rows()]
    for row in rows:
        row[SCORE_COLUMN] = round(row.pop("score"), DECIMALS)
        row["as_is"] = True if (row["task"], row["metric"]) in unscaled else None
    columns = [name for column in COLUMNS for name in ((SCORE_COLUMN, "as_is") if column == "score" else (column,))]
    if kind == "json":
        text = json.dumps(rows, indent=1, sort_keys=True) + "\n"
    else:
        import pandas

        from mbert_eval.report.exports import csv_text

        frame = pandas.DataFrame(rows, columns=columns)
        for column in ("library_versions", "data_checksums", "extra"):
            frame[column] = frame[column].map(lambda v: json.dumps(v, sort_keys=True))
        text = csv_text(frame)
    if path == "-":
        sys.stdout.write(text)
    else:
        write_output(Path(path), text, protected, f"the {kind} export")
