"""The stored results as a text table (for `mbert-eval results`) or as CSV / JSON exports."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

from mbert_eval.report.roles import main_metrics
from mbert_eval.report.xtreme import XTREME_TASKS, describe_coverage, xtreme_scores
from mbert_eval.store.outputs import check_output, store_files, write_output
from mbert_eval.store.results import COLUMNS, ResultStore

SHOWN = ["task", "model", "method", "source", "target", "seed", "metric", "score", "n_examples", "config_hash"]
GROUP = ["task", "model", "method", "source", "target", "metric"]


def format_results(store: ResultStore, all_metrics: bool = False, per_seed: bool = False) -> str:
    """A readable table of stored scores: mean ± sample std over seeds per (task, model, method,
    source, target), or one row per seed with `per_seed`; main metric per task (the stored one, else guessed)
    unless `all_metrics`."""
    frame = store.dataframe()
    if frame.empty:
        return f"no results stored in {store.path}"
    if not all_metrics:
        main = main_metrics(zip(frame["task"], frame["metric"]), store.metric_roles())
        frame = frame[frame["metric"] == frame["task"].map(main)]
    frame = frame.copy()
    frame["model"] = frame["model"].map(lambda m: m if len(m) <= 40 else "…" + m[-39:])
    if per_seed:
        frame["score"] = frame["score"].map(lambda s: f"{s:.4f}")
        return frame[SHOWN].to_string(index=False)
    summary = frame.groupby(GROUP, sort=True)["score"].agg(["mean", "std", "count"]).reset_index()
    summary["score"] = [
        f"{m:.4f}" if n < 2 else f"{m:.4f} ± {sd:.4f}"
        for m, sd, n in zip(summary["mean"], summary["std"], summary["count"])
    ]
    summary = summary.rename(columns={"count": "seeds"})
    return summary[GROUP + ["score", "seeds"]].to_string(index=False) + format_xtreme(store)


def format_xtreme(store: ResultStore) -> str:
    """The XTREME score below the table (empty when the store holds none of XTREME's tasks): per model, method
    and source each task's average over its languages and the average over the tasks present, with what each
    covers and `partial` where tasks or languages are missing."""
    scores = xtreme_scores(store.dataframe(), store.metric_roles())
    if scores is None:
        return ""
    lines = ["", "XTREME score (Hu et al. 2020): per task the mean over its languages; the average over the tasks"]
    for overall in scores.overall.to_dict("records"):
        flag = " (partial)" if overall["partial"] else ""
        lines.append(
            f"{overall['model']} {overall['method']} from {overall['source']}: "
            f"{100 * overall['score']:.1f}{flag} over {len(overall['tasks'])} of {len(XTREME_TASKS)} tasks"
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


def export_rows(store: ResultStore, path: str, kind: str) -> None:
    """Write every stored row (all columns) as CSV or JSON to `path` ('-' for stdout); never onto the store or
    any database (`outputs.write_output`)."""
    if path != "-":
        check_output(Path(path), store_files(store.path), f"the {kind} export")
    rows = [asdict(row) for row in store.rows()]
    if kind == "json":
        text = json.dumps(rows, indent=1, sort_keys=True) + "\n"
    else:
        import pandas

        from mbert_eval.report.exports import csv_text

        frame = pandas.DataFrame(rows, columns=list(COLUMNS))
        for column in ("library_versions", "data_checksums", "extra"):
            frame[column] = frame[column].map(lambda v: json.dumps(v, sort_keys=True))
        text = csv_text(frame)
    if path == "-":
        sys.stdout.write(text)
    else:
        write_output(Path(path), text, store_files(store.path), f"the {kind} export")
