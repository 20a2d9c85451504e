"""Per-task summaries of the results store, computed with pandas (the numbers every format shows).

For each task's main metric and each (model, method, source, target): mean, sample standard
deviation (ddof=1) and number of seeds; Δ against the task's reference method; the transfer gap; the
XTREME average; family and script groups; per-layer scores (retrieval); layer-mixing weights. The main
metric, its direction and the reference method come from the store (`roles`).

Decisions, so that no number is invented and none silently changes meaning:
- The languages of a task are the union of the targets any of its rows has. A language that one
  (model, method, source) lacks is *missing* for it; its average is then the plain mean over the
  languages it has and is flagged partial (XTREME's average is a plain mean over all languages).
- Several cells for the same seed (e.g. reruns with other settings) are averaged into one score per
  seed first, so each seed weighs once; `duplicates` counts such cases for the report to say so.
- Δ = method − reference method, within the method's comparability group (`references`): a limited run's
  `m (limit N)` against `reference (limit N)` (the same test examples), never against the full run; no Δ where
  the group holds no reference row. Two tests, each where it can be made: where both sides kept per-example
  outputs, the paired bootstrap over the same test examples (`uncertainty`, Koehn 2004: `p_value`), which holds
  each seed's training fixed; where both sides ran 2 seeds or more, Welch's t-test over their seeds' scores
  (`p_seeds`: a seed's own luck in training is the variance the bootstrap cannot see, and alone it called 5 of 20
  languages better between two runs of one recipe). A Δ counts the larger p of the two, adjusted by Benjamini and
  Hochberg's step-up over the languages of one method's comparison (`p_adjusted`: 20 languages at p < 0.05 each
  would mark one by chance in most grids): "better"/"worse" (in the task's direction: higher accuracy, lower AER)
  when it is below 0.05, "same" (not significant) otherwise, and "unknown" where neither test can be made (one seed a
  side and no per-example outputs).
- Each score carries its test-set size, chance level and 95% interval (`uncertainty`).
- The transfer gap is (score on the source language) − (score on the target); it needs the grid to
  have evaluated the source language itself, and is missing otherwise. The average's gap is XTREME's:
  source score − mean over the other languages. Beside the all-languages average, the targets-only mean leaves
  the source language out (zero-shot transfer alone).
- The average's spread is the std over seeds of per-seed averages, defined only when every seed
  covers the same languages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mbert_eval.analysis.seeds import over_seeds, per_seed
from mbert_eval.errors import UserError
from mbert_eval.languages import lookup
from mbert_eval.report.names import with_display_names
from mbert_eval.report.references import References, task_references
from mbert_eval.report.roles import TaskRoles, fine_tunes, roles_by_task
from mbert_eval.report.uncertainty import ALPHA, TARGET_KEYS, paired_p_values, uncertainty
from mbert_eval.store.results import MetricRole, StoredConfig

KEYS = ["model", "method", "source"]
UNKNOWN = "unknown"
ROUNDING = 1e-9  # floating-point noise in a difference of means


@dataclass(frozen=True)
class TaskSummary:
    """Everything the report shows for one task; each frame is tidy (one row per number)."""

    task: str
    metric: str
    languages: pd.DataFrame  # index code (the task's languages, in order): name, script, family
    # KEYS + target: mean, std, n, delta, reference (the method Δ is against; NaN: no Δ), verdict, p_value (paired
    # bootstrap over examples), p_seeds (Welch over seeds), p_adjusted (Benjamini-Hochberg over the languages), p_family, gap,
    # source_mean, n_examples, chance, limit, ci_low, ci_high, ci_kind ("bootstrap", "std" or "": none), ci_why
    # (why no bootstrap interval; "" where one), chance_rule (how chance guesses, `CHANCE_RULES`; "" or NaN: none)
    scores: pd.DataFrame
    # KEYS: mean, std, n, n_present, n_total, missing, partial, delta, reference, verdict, gap, targets_mean,
    # n_targets, n_targets_total, targets_missing, targets_partial (the targets-only mean's coverage)
    averages: pd.DataFrame
    groups: dict[str, pd.DataFrame]  # "family"/"script" → KEYS + group: mean, n_present, n_total, partial (targets)
    layers: pd.DataFrame  # KEYS + target + layer: mean (per-layer metrics, e.g. retrieval); may be empty
    layer_weights: pd.DataFrame  # KEYS + layer: weight (mean over cells); may be empty
    duplicates: int  # (model, method, source, target, seed) with scores from more than one cell
    higher_is_better: bool = True  # the main metric's direction (AER: lower is better)
    descriptions: dict[str, str] = field(default_factory=dict)  # metric → what it is (the task's declared ones)
    secondary: pd.DataFrame = field(default_factory=pd.DataFrame)  # KEYS + target + metric: mean, std, n
    references: References = field(default_factory=References)  # each method's reference, per comparability group
    guessed: str = ""  # why the main metric (and its direction) was guessed; empty: it was not (`roles.TaskRoles`)
    fine_tunes: bool = True  # the task fine-tunes on the source (`roles.fine_tunes`): a source score means something
    config_hashes: dict[tuple, tuple[str, ...]] = field(default_factory=dict)  # KEYS → the configs of its rows
    unscaled: frozenset[str] = frozenset()  # its metrics that are no fraction: shown as they are (`roles.TaskRoles`)

    @property
    def reference(self) -> str | None:
        """The task's reference method (the full run's; else, with only limited runs of it, theirs; None: no Δ)."""
        return self.references.main

    @property
    def reference_note(self) -> str:
        """Why there is no reference method (empty when there is one)."""
        return self.references.note

    def values(self, column: str) -> list[str]:
        """The distinct models, methods or sources of the task; methods by comparability group (the full runs
        first), each group's reference first."""
        found = list(dict.fromkeys(self.scores[column]))
        return sorted(found, key=self.references.sort_key) if column == "method" else sorted(found)


def language_frame(codes: list[str]) -> pd.DataFrame:
    """Name, script and family of each code from the language table ("unknown" for unknown codes)."""
    records = []
    for code in codes:
        try:
            language = lookup(code)
            records.append((code, language.name, language.script, language.family))
        except UserError:
            records.append((code, code, UNKNOWN, UNKNOWN))
    return pd.DataFrame(records, columns=["code", "name", "script", "family"]).set_index("code")


def summarize(
    frame: pd.DataFrame,
    stored_roles: Iterable[MetricRole] = (),
    configs: Sequence[StoredConfig] = (),
    store: Path | None = None,
) -> list[TaskSummary]:
    """One summary per task of a store frame (`ResultStore.dataframe()`), sorted by task name; metric roles and
    reference methods from the store's `metric_roles()` and `configs()` (oldest first); models by their display
    names (`names`); `store`: the store's path, whose per-example outputs give intervals and paired tests."""
    if frame.empty:
        return []
    frame = with_display_names(frame)
    roles = roles_by_task(zip(frame["task"], frame["metric"]), stored_roles)
    return [
        _summarize_task(
            str(task),
            roles[task],
            rows,
            task_references(str(task), dict(zip(rows["method"], rows["stored_method"])), _producing(configs, rows)),
            store,
        )
        for task, rows in frame.groupby("task", sort=True)
    ]


def _producing(configs: Iterable[StoredConfig], rows: pd.DataFrame) -> list[StoredConfig]:
    """The configs that produced some of a task's rows (by the rows' config hashes), whose reference method its Δ
    is against: a config given to `report --config` that produced none of them does not move every Δ; where none
    did (a store written before configs were kept, its config given), every config."""
    configs = list(configs)
    hashes = set(rows["config_hash"]) if "config_hash" in rows else set()
    return [config for config in configs if config.config_hash in hashes] or configs


def _summarize_task(
    task: str, roles: TaskRoles, rows: pd.DataFrame, references: References, store: Path | None
) -> TaskSummary:
    """The summary of one task's rows (display names given) with its roles and references."""
    metric, higher, against = roles.metric, roles.higher_is_better, references.against()
    main = rows[rows["metric"] == metric]
    seeds, duplicates = per_seed(main, [*KEYS, "target"])
    languages = language_frame(sorted(set(seeds["target"])))
    stats = seeds.groupby(KEYS + ["target"])["score"].agg(mean="mean", std="std", n="count").reset_index()
    sureness, stacked = uncertainty(main, stats, store)
    combos = stats[KEYS].drop_duplicates()
    scores = combos.merge(pd.DataFrame({"target": list(languages.index)}), how="cross")
    scores = scores.merge(stats, on=KEYS + ["target"], how="left").merge(sureness, on=TARGET_KEYS, how="left")
    scores["n"] = scores["n"].fillna(0).astype(int)
    scores["ci_kind"] = scores["ci_kind"].fillna("")
    scores = _with_gap(scores)
    p_values = paired_p_values(stacked, against)
    scores = _with_delta(scores, ["model", "source", "target"], against, higher, p_values, seeds)
    averages = _averages(scores, seeds)
    averages = _with_delta(averages, ["model", "source"], against, higher, seeds=_seed_averages(seeds))
    averages = _over_the_same_languages(averages)
    groups = {kind: _groups(scores, languages[kind]) for kind in ("family", "script")}
    return TaskSummary(
        task,
        metric,
        languages,
        scores,
        averages,
        groups,
        _layers(rows, metric),
        _layer_weights(rows),
        duplicates,
        higher,
        roles.descriptions,
        _secondary(rows, roles.secondary),
        references,
        roles.guessed,
        fine_tunes(task),
        _config_hashes(main),
        roles.unscaled,
    )


def _config_hashes(rows: pd.DataFrame) -> dict[tuple, tuple[str, ...]]:
    """The config hashes of each (model, method, source)'s rows, sorted (several: cells from different configs)."""
    if "config_hash" not in rows:
        return {}
    return {keys: tuple(sorted(set(group["config_hash"]))) for keys, group in rows.groupby(KEYS, sort=False)}


def _secondary(rows: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Mean, std and seeds of the task's other declared metrics (e.g. XTREME's POS F1) per KEYS + target."""
    picked = rows[rows["metric"].isin(metrics)]
    columns = KEYS + ["target", "metric", "mean", "std", "n"]
    if picked.empty:
        return pd.DataFrame(columns=columns)
    per_seed = picked.groupby(KEYS + ["target", "metric", "seed"])["score"].mean().reset_index()
    stats = per_seed.groupby(KEYS + ["target", "metric"])["score"].agg(mean="mean", std="std", n="count")
    return stats.reset_index()[columns]


def _with_gap(scores: pd.DataFrame) -> pd.DataFrame:
    """Add source_mean (the score on the source language itself) and gap = source_mean − mean."""
    own = scores[scores["target"] == scores["source"]][KEYS + ["mean"]].rename(columns={"mean": "source_mean"})
    scores = scores.merge(own, on=KEYS, how="left")
    scores["gap"] = (scores["source_mean"] - scores["mean"]).where(scores["target"] != scores["source"])
    return scores


def _with_delta(
    frame: pd.DataFrame,
    match: list[str],
    against: dict[str, str],
    higher: bool = True,
    p_values: dict | None = None,
    seeds: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Add `reference` (the method each row is compared with: `against`, by method; `References.against`), delta
    (mean − that method's mean on the same `match` keys; NaN, and no reference, where there is none), its
    paired-bootstrap `p_value` where tested (`p_values` by TARGET_KEYS) and its verdict, "better" meaning higher
    when `higher` and lower otherwise. Given the per-seed scores at the frame's level (`seeds`: `match` keys,
    method, seed, score), a method and its reference that ran different seeds are compared over the seeds both
    ran (`_over_shared_seeds`)."""
    frame = frame.assign(reference=frame["method"].map(against).astype(object))
    base = frame[match + ["method", "mean", "std", "n"]].rename(
        columns={"method": "reference", "mean": "base_mean", "std": "base_std", "n": "base_n"}
    )
    frame = frame.merge(base, on=match + ["reference"], how="left")
    frame["delta"] = frame["mean"] - frame["base_mean"]
    frame["delta_seeds"] = None
    spread = frame[["std", "base_std", "n", "base_n"]].copy()  # the seeds Welch's t-test weighs Δ against
    if seeds is not None:
        _over_shared_seeds(frame, spread, seeds, match)
    frame["reference"] = frame["reference"].where(frame["delta"].notna())
    found = p_values or {}
    frame["p_value"] = [
        found.get(key, np.nan) for key in frame.reindex(columns=TARGET_KEYS).itertuples(index=False, name=None)
    ]
    frame["p_seeds"] = _welch(frame["delta"], spread)
    frame["p_adjusted"], frame["p_family"] = _adjusted_over(frame, [key for key in match if key != "target"])
    frame["verdict"] = np.select(
        [
            frame["delta"].isna(),
            frame["p_adjusted"].isna(),
            frame["p_adjusted"] >= ALPHA,
            frame["delta"] > 0 if higher else frame["delta"] < 0,
        ],
        ["", "unknown", "same", "better"],
        default="worse",
    )
    return frame.drop(columns=["base_mean", "base_std", "base_n"])


def _welch(delta: pd.Series, spread: pd.DataFrame) -> pd.Series:
    """Welch's t-test (Welch 1947) of Δ over the two methods' seeds (their stds and counts in `spread`), two-sided;
    NaN where a side ran fewer than 2 seeds. Seeds that agree exactly on both sides make any Δ certain (p 0) and
    no Δ none (p 1)."""
    from scipy.stats import ttest_ind_from_stats

    both = (spread["n"] >= 2) & (spread["base_n"] >= 2) & delta.notna()
    p = pd.Series(np.nan, index=delta.index)
    if not both.any():
        return p
    rows = spread[both]
    with np.errstate(divide="ignore", invalid="ignore"):
        found = ttest_ind_from_stats(
            *(column.to_numpy(float) for column in (delta[both], rows["std"], rows["n"])),
            0.0,
            *(column.to_numpy(float) for column in (rows["base_std"], rows["base_n"])),
            equal_var=False,
        ).pvalue
    exact = (rows["std"] == 0) & (rows["base_std"] == 0)
    p[both] = np.where(exact, np.where(delta[both].abs() > ROUNDING, 0.0, 1.0), found)
    return p


def _adjusted_over(frame: pd.DataFrame, family: list[str]) -> tuple[pd.Series, pd.Series]:
    """Each Δ's p (the larger of `p_value` and `p_seeds`, where either was found) adjusted by Benjamini and
    Hochberg's step-up (1995) over its family: the Δs of one method against its reference on the same `family`
    keys (the languages of one model and source); with the family's size. Of the Δs it marks, at most 5% are
    expected to be false; where no language differs, a mark anywhere is as unlikely as one test's. NaN where no
    test was made."""
    from scipy.stats import false_discovery_control

    p = frame[["p_value", "p_seeds"]].max(axis=1, skipna=True)
    adjusted, size = pd.Series(np.nan, index=frame.index), pd.Series(np.nan, index=frame.index)
    tested = frame[p.notna()]
    for _, group in tested.groupby([*family, "method", "reference"], sort=False, dropna=False):
        adjusted[group.index] = false_discovery_control(p[group.index].to_numpy(float), method="bh")
        size[group.index] = len(group)
    return adjusted, size


def _over_shared_seeds(frame: pd.DataFrame, spread: pd.DataFrame, seeds: pd.DataFrame, match: list[str]) -> None:
    """Where a method and its reference ran different seeds (on a target, or for an average: `match`), Δ (in
    `frame`) is the difference of their means over the seeds both ran (a paired comparison, as the paired
    bootstrap's: means over other seeds would add a seed effect to Δ), Welch's t-test weighs it against those
    seeds' stds (in `spread`), and `delta_seeds` lists the seeds (None where the sets are the same; no Δ where none
    is shared). The shown mean and std stay over every seed a method ran."""
    scored = {key: dict(zip(g["seed"], g["score"])) for key, g in seeds.groupby([*match, "method"], sort=False)}
    for index, row in frame[frame["delta"].notna()].iterrows():
        mine = scored.get((*row[match], row["method"]), {})
        theirs = scored.get((*row[match], row["reference"]), {})
        if set(mine) == set(theirs):
            continue
        shared = sorted(set(mine) & set(theirs))
        own, base = (
            pd.Series([mine[s] for s in shared], dtype=float),
            pd.Series([theirs[s] for s in shared], dtype=float),
        )
        frame.loc[index, "delta"] = own.mean() - base.mean()  # NaN when no seed is shared: no Δ
        frame.at[index, "delta_seeds"] = shared or None
        spread.loc[index] = [own.std(), base.std(), len(shared), len(shared)]


def _seed_averages(seeds: pd.DataFrame) -> pd.DataFrame:
    """Per (model, method, source) and seed, the mean score over the languages: only the seeds that ran every
    language the method ran (a seed's mean over fewer would be another average); what an average's Δ pairs."""
    per_seed = seeds.groupby([*KEYS, "seed"]).agg(score=("score", "mean"), ran=("target", "nunique")).reset_index()
    languages = seeds.groupby(KEYS)["target"].nunique().rename("languages").reset_index()
    per_seed = per_seed.merge(languages, on=KEYS)
    return per_seed[per_seed["ran"] == per_seed["languages"]][[*KEYS, "seed", "score"]]


def _averages(scores: pd.DataFrame, seeds: pd.DataFrame) -> pd.DataFrame:
    """XTREME's plain mean over the task's languages per (model, method, source), partial if any is missing."""
    records = []
    seed_groups = dict(list(seeds.groupby(KEYS, sort=False)))
    for keys, group in scores.groupby(KEYS, sort=False):
        present = group.dropna(subset=["mean"])
        targets = group[group["target"] != group["source"]]
        others = targets.dropna(subset=["mean"])
        table = seed_groups[keys].pivot_table(index="seed", columns="target", values="score")
        rectangular = not table.isna().to_numpy().any()
        records.append(
            {
                **dict(zip(KEYS, keys)),
                "mean": present["mean"].mean(),
                "std": table.mean(axis=1).std() if rectangular and len(table) > 1 else np.nan,
                "n": len(table) if rectangular else 0,
                "n_present": len(present),
                "n_total": len(group),
                "missing": [t for t in group["target"] if t not in set(present["target"])],
                "gap": group["source_mean"].iloc[0] - others["mean"].mean(),
                "targets_mean": others["mean"].mean(),
                "n_targets": len(others),
                "n_targets_total": len(targets),
                "targets_missing": [t for t in targets["target"] if t not in set(others["target"])],
            }
        )
    averages = pd.DataFrame(records)
    averages["partial"] = averages["n_present"] < averages["n_total"]
    averages["targets_partial"] = averages["n_targets"] < averages["n_targets_total"]
    return averages


def _over_the_same_languages(averages: pd.DataFrame) -> pd.DataFrame:
    """No Δ between two averages over different languages: an average missing other languages than its reference
    method's (same model and source; `reference`, `_with_delta`) gets no delta and no verdict, rather than a
    difference of two means over two sets."""
    base = averages[["model", "source", "method", "missing"]].rename(
        columns={"method": "reference", "missing": "base_missing"}
    )
    merged = averages.merge(base, on=["model", "source", "reference"], how="left")
    differs = [
        isinstance(base_missing, list) and sorted(missing) != sorted(base_missing)
        for missing, base_missing in zip(merged["missing"], merged["base_missing"])
    ]
    averages = averages.copy()
    averages.loc[differs, ["delta", "reference"]] = np.nan
    averages.loc[differs, "verdict"] = ""
    return averages


def _groups(scores: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """Plain means over the target languages of each family (or script), the source language left out (zero-shot
    transfer alone, like the targets-only mean), partial if some are missing."""
    scores = scores[scores["target"] != scores["source"]]
    frame = scores.assign(group=scores["target"].map(labels))
    result = (
        frame.groupby(KEYS + ["group"], sort=False)
        .agg(mean=("mean", "mean"), n_present=("mean", "count"), n_total=("target", "size"))
        .reset_index()
    )
    result["partial"] = result["n_present"] < result["n_total"]
    return result.sort_values(["group"] + KEYS, kind="stable").reset_index(drop=True)


def _layers(rows: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Mean over seeds of the per-layer scores (metrics `{metric}_layerNN`)."""
    layer = rows["metric"].str.extract(rf"^{re.escape(metric)}_layer(\d+)$")[0]
    picked = rows[layer.notna()].assign(layer=layer.dropna().astype(int))
    if picked.empty:
        return pd.DataFrame(columns=KEYS + ["target", "layer", "mean"])
    means = over_seeds(picked, [*KEYS, "target", "layer"])
    return means[[*KEYS, "target", "layer", "score"]].rename(columns={"score": "mean"})


def _layer_weights(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean over cells of the learned layer-mixing weights (`extra["layer_weights"]`), per layer."""
    records = []
    for _, row in rows.drop_duplicates("cell_key").iterrows():
        weights = row["extra"].get("layer_weights") if isinstance(row["extra"], dict) else None
        for layer, weight in enumerate(weights or []):
            records.append({**{k: row[k] for k in KEYS}, "layer": layer, "weight": float(weight)})
    if not records:
        return pd.DataFrame(columns=KEYS + ["layer", "weight"])
    return pd.DataFrame(records).groupby(KEYS + ["layer"])["weight"].mean().reset_index()
