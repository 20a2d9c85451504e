"""The XTREME score (Hu et al. 2020): per (model, method, source) each XTREME task's average over its languages,
and the average over the XTREME tasks present.

A task counts when the store marks some of its metrics as making up its XTREME score (the `xtreme` column of
the metric roles: accuracy for XNLI, PAWS-X and Tatoeba, F1 for UD-POS, PAN-X and BUCC, the mean of EM and F1
for the QA tasks). Per language the score is the mean over seeds of the mean of those metrics. A task's
average is a plain mean over the languages it was evaluated on, *partial* when the language table lists
XTREME languages of the task that are missing; the overall average is a plain mean over the tasks present,
partial when any of XTREME's nine tasks is missing or any task average is partial. Each average names the
languages (or tasks) it covers, so that no partial number passes for XTREME's.

A language counts only when it was scored on its own data: target languages of a task whose rows record the same
test data (the same `data_checksums` entries, apart from those every target shares, i.e. the training data) do
not count, and the task is partial and says so. (Before TyDiQA was split by language, every target was scored on
the whole mixed `tydiqa` split, and such rows would otherwise make a complete-looking, identical-per-language
task.)

Only XTREME's languages count: a target the language table does not list for the task (a synthetic language, say)
is left out, and a task none of whose scored languages is XTREME's gets no XTREME score at all; a store with no
such task shows none (rather than a "partial" score listing every XTREME language it lacks).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from mbert_eval.languages import languages_for_task
from mbert_eval.report.tables import Cell, Column, Table, percent
from mbert_eval.store.results import MetricRole

# XTREME's nine tasks, in the paper's order (classification, structured prediction, QA, retrieval)
XTREME_TASKS = ("xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "bucc", "tatoeba")
KEYS = ["model", "method", "source"]
PIVOTED = {"bucc", "tatoeba"}  # pairs with English: English is the pivot of every pair, not a language scored


@dataclass(frozen=True)
class XtremeScores:
    """`tasks`: KEYS + task (the suite's name) + xtreme (XTREME's): score, languages (those counted), missing
    (XTREME's languages not counted: not evaluated, or `shared`), shared (targets scored on the same test data as
    another target), partial; score is NaN when no language counts.
    `overall`: KEYS: score, tasks (XTREME names present with a score), missing_tasks, partial."""

    tasks: pd.DataFrame
    overall: pd.DataFrame


def xtreme_scores(frame: pd.DataFrame, roles: Iterable[MetricRole]) -> XtremeScores | None:
    """The XTREME averages of a store frame (`ResultStore.dataframe()`); None when no stored task is marked as
    one of XTREME's (a store that predates the marks, or a grid of other tasks) or none was scored on XTREME's
    languages."""
    marked = {(role.task, role.metric): role.xtreme for role in roles if role.xtreme}
    if frame.empty or not marked:
        return None
    picked = frame[[(task, metric) in marked for task, metric in zip(frame["task"], frame["metric"])]]
    if picked.empty:
        return None
    per_seed = (
        picked.groupby(KEYS + ["task", "target", "seed"])["score"]
        .mean()  # mean of the task's metrics
        .groupby(KEYS + ["task", "target"])
        .mean()
        .reset_index()
    )  # then over seeds
    xtreme_names = {task: name for (task, _), name in marked.items()}
    records = []
    rows_of = dict(list(picked.groupby(KEYS + ["task"], sort=False)))
    for (model, method, source, task), group in per_seed.groupby(KEYS + ["task"], sort=True):
        name = xtreme_names[task]
        expected = {language.code for language in languages_for_task(name)} - ({"en"} if name in PIVOTED else set())
        if not set(group["target"]) & expected:
            continue  # none of XTREME's languages: no XTREME score for this task
        shared = shared_test_data(rows_of[(model, method, source, task)])
        counted = group[~group["target"].isin(shared) & group["target"].isin(expected)]
        languages = sorted(counted["target"])
        missing = sorted((expected - set(languages)) | (set(shared) & expected))  # XTREME's languages only
        records.append(
            {
                "model": model,
                "method": method,
                "source": source,
                "task": task,
                "xtreme": name,
                "score": counted["score"].mean(),
                "languages": languages,
                "missing": missing,
                "shared": shared,
                "partial": bool(missing),
            }
        )
    if not records:
        return None
    tasks = pd.DataFrame(records)
    overall = []
    for (model, method, source), group in tasks.groupby(KEYS, sort=True):
        present = [name for name in XTREME_TASKS if name in set(group["xtreme"][group["score"].notna()])]
        absent = [name for name in XTREME_TASKS if name not in present]
        overall.append(
            {
                "model": model,
                "method": method,
                "source": source,
                "score": group["score"].mean(),
                "tasks": present,
                "missing_tasks": absent,
                "partial": bool(absent) or bool(group["partial"].any()),
            }
        )
    return XtremeScores(tasks, pd.DataFrame(overall))


def shared_test_data(rows: pd.DataFrame) -> list[str]:
    """The targets among one task's rows (one model, method and source) that were scored on the same test data as
    another target: their `data_checksums` entries, less those every target has (the training data), are equal.
    Rows without recorded data (`{}`, or a frame without the column) are left out of the comparison."""
    if "data_checksums" not in rows:
        return []
    seen: dict[str, set] = {}
    for target, sums in zip(rows["target"], rows["data_checksums"]):
        if sums:
            seen.setdefault(target, set()).update(sums.items())
    if len(seen) < 2:
        return []
    common = set.intersection(*seen.values())
    owners: dict[frozenset, list[str]] = defaultdict(list)
    for target, items in seen.items():
        owners[frozenset(items - common)].append(target)
    return sorted(target for targets in owners.values() if len(targets) > 1 for target in targets)


def describe_coverage(languages: list[str], missing: list[str], shared: list[str] = ()) -> str:
    """`n languages: a, b, c` and, when some are missing, `; missing m of XTREME's: x, y`, and, when targets shared
    their test data, `; not counted, scored on one shared test set: p, q`."""
    text = f"{len(languages)} language{'s' if len(languages) != 1 else ''}: {', '.join(languages)}"
    text += f"; missing {len(missing)} of XTREME's: {', '.join(missing)}" if missing else ""
    return text + (f"; not counted, scored on one shared test set: {', '.join(shared)}" if len(shared) else "")


def xtreme_table(scores: XtremeScores) -> Table:
    """One row per (model, method, source): each XTREME task's average over its languages, then the average over
    the tasks present; partial cells say what they cover (in their note and tooltip)."""
    present = [name for name in XTREME_TASKS if name in set(scores.tasks["xtreme"])]
    suite_name = dict(zip(scores.tasks["xtreme"], scores.tasks["task"]))
    columns = [Column("Model", numeric=False), Column("Method", numeric=False), Column("Source", numeric=False)]
    columns += [Column(f"{name} ({suite_name[name]})" if suite_name[name] != name else name) for name in present]
    columns.append(Column("XTREME average"))
    by_task = scores.tasks.set_index(KEYS + ["xtreme"])
    rows = []
    for _, overall in scores.overall.iterrows():
        keys = (overall["model"], overall["method"], overall["source"])
        row = [Cell(str(value), str(value)) for value in keys]
        for name in present:
            if keys + (name,) not in by_task.index:
                row.append(Cell("missing", None, "missing", "not evaluated"))
                continue
            task = by_task.loc[keys + (name,)]
            coverage = describe_coverage(task["languages"], task["missing"], task["shared"])
            if pd.isna(task["score"]):
                row.append(Cell("not counted", None, "missing", coverage, "shared data"))
                continue
            note = (
                f"{len(task['languages'])}/{len(task['languages']) + len(task['missing'])}" if task["partial"] else ""
            )
            row.append(
                Cell(
                    percent(task["score"]),
                    float(task["score"]),
                    "partial" if note else "num",
                    coverage,
                    f"partial {note}" if note else "",
                )
            )
        covered = f"{len(overall['tasks'])} of {len(XTREME_TASKS)} tasks: {', '.join(overall['tasks'])}"
        if pd.isna(overall["score"]):  # no task has a score (every target on a shared test set)
            row.append(Cell("not counted", None, "missing", covered, "no task counted"))
            rows.append(row)
            continue
        row.append(
            Cell(
                percent(overall["score"]),
                float(overall["score"]),
                "partial" if overall["partial"] else "num",
                covered,
                "partial" if overall["partial"] else "",
            )
        )
        rows.append(row)
    notes = [
        "XTREME score (Hu et al. 2020): per task the plain mean over its languages of accuracy (XNLI, PAWS-X, "
        "Tatoeba), F1 (UD-POS, PAN-X, BUCC) or (EM + F1) / 2 (XQuAD, MLQA, TyDiQA); the average is the plain "
        "mean over the tasks present. Partial: languages the language table lists for the task, or tasks of "
        "XTREME's nine, are missing, or target languages were scored on one shared test set (they do not "
        "count; hover a cell for what it covers)."
    ]
    return Table("xtreme", "XTREME score", columns, rows, notes=notes)
