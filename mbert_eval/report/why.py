"""The section "Why transfer differs", per model: what each layer of the frozen encoder holds and how zero-shot
scores go with the distance between languages, drawn and said from the stored numbers only.

Layer curves: the zero-shot POS probe's accuracy per layer per target with its control task dashed (Tenney et al.
2019; de Vries et al. 2020; Hewitt & Liang 2019), and the XNLI and PAWS-X pair probes' (no control task), the best
layer per target named; language identity per layer
with the rows' chance line, 1/2 for a source-or-target classifier or 1/L for one over L languages, whose accuracy
over all of them is drawn too (Libovický et al. 2020); linear CKA of parallel sentences per layer, paired solid
and unpaired dashed as the baseline (Kornblith et al. 2019; Conneau et al. 2020). Scatter plots: each zero-shot
score against each measure Spearman's rho can be computed for (analysis/transfer.py; Lauscher et al. 2020), with
the URIEL source line. Findings: one sentence per finding, each computed from the numbers it states; a correlation
is claimed only where p < 0.05, otherwise the section says there is no evidence at the number of targets it has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from mbert_eval.analysis.seeds import over_seeds, per_seed
from mbert_eval.analysis.transfer import correlations, transfer_records
from mbert_eval.analysis.typology import DISTANCES
from mbert_eval.analysis.typology import SOURCE as URIEL_SOURCE
from mbert_eval.errors import UserError
from mbert_eval.registry import registered_name
from mbert_eval.report.charts import Series, line_chart, scatter_chart
from mbert_eval.report.figures import Figure
from mbert_eval.report.names import display_names
from mbert_eval.report.tables import language_label
from mbert_eval.store.results import ResultStore, comparable_method

IDENTITY, SIMILARITY = "language_identity", "similarity"
PROBES = {"pos_probe": "POS", "xnli_probe": "XNLI", "pawsx_probe": "PAWS-X"}  # probe task → what it probes
WHY_TASKS = (*PROBES, IDENTITY, SIMILARITY)
ALPHA = 0.05
_LAYER = re.compile(r"^(?P<name>.+)_layer(?P<layer>\d\d)$")


@dataclass(frozen=True)
class WhySection:
    """One model's part of "Why transfer differs": its layer curves, its distance scatter plots (or the reason
    there are none), the findings in words, and where the typological distances come from. What shows no evidence
    (`quiet`: the sentences saying so, `quiet_scatters`: the plots of correlations at p ≥ 0.05) is kept apart, so
    that the page leads with what the numbers support and folds the rest away."""

    model: str
    curves: list[Figure]
    scatters: list[Figure]
    findings: list[str]
    notes: list[str]
    source_line: str
    quiet: list[str] = field(default_factory=list)
    quiet_scatters: list[Figure] = field(default_factory=list)


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """The stored rows with each one's method as its scores are comparable under (`comparable_method`: a limited
    try, centred retrieval, an L-way classifier), as every view of the section takes them: a view never averages
    rows of two kinds into one curve."""
    return frame.assign(method=[comparable_method(m, extra) for m, extra in zip(frame["method"], frame["extra"])])


def layer_table(frame: pd.DataFrame, task: str, name: str) -> pd.DataFrame:
    """The per-layer metric `name` (`{name}_layerNN`) of `task`, mean over seeds (`seeds.over_seeds`): one row per (model, method,
    source, target), one column per layer 0..L (NaN where not stored)."""
    rows = frame[frame["task"] == task]
    parsed = rows["metric"].str.extract(_LAYER)
    rows = rows.assign(name=parsed["name"], layer=pd.to_numeric(parsed["layer"]))
    rows = rows[rows["name"] == name]
    if rows.empty:
        return pd.DataFrame()
    means = over_seeds(rows, ["model", "method", "source", "target", "layer"])  # each seed once
    table = means.pivot_table(index=["model", "method", "source", "target"], columns="layer", values="score")
    return table.reindex(columns=range(int(table.columns.max()) + 1))


def _values(row: pd.Series) -> list[float | None]:
    return [None if pd.isna(v) else float(v) for v in row]


def _span(values: list[int]) -> str:
    low, high = min(values), max(values)
    return f"{low}" if low == high else f"{low}–{high}"


def entries(frame: pd.DataFrame, registered: str) -> list[str]:
    """The stored task names that run the registered task `registered`: the plain entry first, then its variants
    (`TASK:LABEL`, `registry.registered_name`) by name; each is drawn and said on its own."""
    names = {name for name in frame["task"].unique() if registered_name(name) == registered}
    return sorted(names, key=lambda name: (name != registered, name))


def _entry(task: str) -> str:
    """A variant's whole name, for its panels' titles and its findings ("" for the plain entry)."""
    return "" if registered_name(task) == task else f" ({task})"


def _suffix(model_rows: pd.DataFrame, method: str, source: str) -> str:
    """The panel's coordinates, said only where the model has more than one (method, source)."""
    pairs = model_rows.reset_index()[["method", "source"]].drop_duplicates()
    return f" — method {method}, source {language_label(source)}" if len(pairs) > 1 else ""


def probe_view(frame: pd.DataFrame, model: str) -> tuple[list[Figure], list[str]]:
    """Each probe task's panels (`PROBES`: POS, then the sentence-pair probes; each variant after its plain entry,
    named in its titles and findings) and findings (`task_probe_view`)."""
    figures: list[Figure] = []
    findings: list[str] = []
    for registered, kind in PROBES.items():
        for task in entries(frame, registered):
            drawn, said = task_probe_view(frame, model, task, kind + _entry(task))
            figures += drawn
            findings += said
    return figures, findings


def task_probe_view(frame: pd.DataFrame, model: str, task: str, kind: str) -> tuple[list[Figure], list[str]]:
    """One probe task's accuracy per layer per target (its control task dashed, where it has one), and its
    findings: the best layer per target, the drop from there to the last layer, and the selectivity there
    (Hewitt & Liang 2019)."""
    accuracy, control = layer_table(frame, task, "accuracy"), layer_table(frame, task, "control")
    if accuracy.empty or model not in accuracy.index.get_level_values("model"):
        return [], []
    figures, findings = [], []
    mine = accuracy.xs(model, level="model")
    for (method, source), block in mine.groupby(level=["method", "source"], sort=True):
        series, best, drops, selectivity = [], {}, [], []
        for (_, _, target), row in block.iterrows():
            if row.isna().all():
                continue
            layer = int(row.idxmax())
            best[target] = layer
            last = row.dropna().index.max()
            drops.append(100 * (row[layer] - row[last]))
            label = f"{target} (best {layer})"
            series.append(Series(label, _values(row)))
            key = (model, method, source, target)
            if not control.empty and key in control.index:
                series.append(Series(f"{target} control", _values(control.loc[key]), follows=label))
                if not pd.isna(control.loc[key][layer]):
                    selectivity.append(100 * (row[layer] - control.loc[key][layer]))
        if not best:
            continue
        title = f"{kind} probe accuracy by layer (%)"
        has_control = any(line.follows for line in series)
        dashed = "; dashed: the control task (random word-type labels)" if has_control else ""
        figures.append(
            Figure(
                f"{title}{dashed}; best layer per target in the legend" + _suffix(mine, method, source),
                line_chart(title, series, "layer", "accuracy (%)"),
            )
        )
        # the source scored on its own language is no target: the counts say languages, naming it, where it is one
        scored = f"languages (the source, {source}, among them)" if source in best else "targets"
        findings.append(_best_layers(best, kind, scored) + _drop(drops, int(block.columns.max()), scored))
        if selectivity:
            findings.append(
                f"Probe selectivity (accuracy − control) at each language's best layer: "
                f"{min(selectivity):.1f}–{max(selectivity):.1f} points."
            )
    return figures, findings


def _best_layers(best: dict[str, int], kind: str, scored: str) -> str:
    """The best probe layers in words: the most common span when one holds most of the `scored` languages (what
    the counts call them), else every layer."""
    layers = sorted(best.values())
    counts = pd.Series(layers).value_counts()
    if len(counts) == 1:
        return f"Best {kind} probe layer: {layers[0]} for all {len(layers)} {scored}"
    middle = layers[len(layers) // 4 : len(layers) - len(layers) // 4] if len(layers) > 3 else layers
    inside = sum(min(middle) <= layer <= max(middle) for layer in layers)
    return f"Best {kind} probe layer: {_span(middle)} for {inside} of {len(layers)} {scored}"


def _drop(drops: list[float], last: int, scored: str) -> str:
    """What happens from each language's best layer to the last one, in points."""
    falling = [d for d in drops if d > 0]
    if not falling:
        return f"; accuracy peaks at the last layer ({last}) for each of them."
    if len(falling) == len(drops):
        return f"; accuracy falls by {min(falling):.0f}–{max(falling):.0f} points to the last layer ({last})."
    return (
        f"; accuracy falls to the last layer ({last}) for {len(falling)} of {len(drops)} {scored}, "
        f"by {min(falling):.0f}–{max(falling):.0f} points."
    )


def _chance_words(chance: float) -> tuple[str, str]:
    """A chance level as a fraction (`1/8`, where it is one over a whole number) and as a percentage (`12.5%`)."""
    count = round(1 / chance) if chance > 0 else 0
    fraction = f"1/{count}" if count and abs(chance - 1 / count) < 1e-9 else f"{100 * chance:.1f}%"
    return fraction, f"{100 * chance:.1f}".rstrip("0").rstrip(".") + "%"


def _identity_extras(
    frame: pd.DataFrame, task: str, model: str, method: str, source: str
) -> tuple[float, int | None, list]:
    """What a panel's main-metric rows say of its classifier: the chance level (`extra.chance`; 1/L where only
    `extra.all_languages` is stored, 1/2 where neither is: pairwise rows stored before chance was), L (None:
    pairwise), and the L-way accuracy per layer over all L languages (`extra.overall_accuracy_by_layer`), the mean
    over seeds of the cells that stored it (`seeds.per_seed`; [] where none did)."""
    rows = frame[
        (frame["task"] == task)
        & (frame["metric"] == "accuracy")
        & (frame["model"] == model)
        & (frame["method"] == method)
        & (frame["source"] == source)
    ]
    extras = [extra for extra in rows["extra"] if isinstance(extra, dict)]
    languages = next((int(e["all_languages"]) for e in extras if e.get("all_languages")), None)
    chances = [float(e["chance"]) for e in extras if e.get("chance") is not None]
    chance = chances[0] if chances else (1 / languages if languages else 0.5)
    curves = {  # each target's row of a cell carries the cell's curve: one per cell
        key: (seed, extra["overall_accuracy_by_layer"])
        for key, seed, extra in zip(rows["cell_key"], rows["seed"], rows["extra"])
        if isinstance(extra, dict) and extra.get("overall_accuracy_by_layer")
    }
    if not curves:
        return chance, languages, []
    layers = pd.DataFrame([curve for _, curve in curves.values()])
    seeds, _ = per_seed(layers.assign(seed=[seed for seed, _ in curves.values()]), [], list(layers.columns))
    return chance, languages, seeds[list(layers.columns)].mean(axis=0).tolist()


def identity_view(frame: pd.DataFrame, model: str) -> tuple[list[Figure], list[str]]:
    """Language identity accuracy per layer per target and its finding, per classifier: source or target (chance
    1/2), or one over L languages (`all_languages`, chance 1/L; Libovický et al. 2020), where each curve is a
    target's recall and the bold one ("all") the classifier's accuracy over all L languages. The chance line is
    the rows' own (`extra.chance`). The two kinds are separate panels (`comparable_method`: `method (L-way)`), and
    so is each variant of the task, named in its titles and findings."""
    figures: list[Figure] = []
    findings: list[str] = []
    for task in entries(frame, IDENTITY):
        drawn, said = _identity_panels(frame[frame["task"] == task], model, task)
        figures += drawn
        findings += said
    return figures, findings


def _identity_panels(frame: pd.DataFrame, model: str, task: str) -> tuple[list[Figure], list[str]]:
    """The panels and findings of one language-identity entry (`identity_view`)."""
    table = layer_table(frame, task, "accuracy")
    if table.empty or model not in table.index.get_level_values("model"):
        return [], []
    figures, findings = [], []
    mine = table.xs(model, level="model")
    for (method, source), block in mine.groupby(level=["method", "source"], sort=True):
        chance, languages, overall = _identity_extras(frame, task, model, method, source)
        fraction, percent = _chance_words(chance)
        series = [Series(target, _values(row)) for (_, _, target), row in block.iterrows()]
        title = f"Language identity{_entry(task)} by layer (%)"
        if languages:
            if overall:
                series.append(Series("all", [float(value) for value in overall], emphasis=True))
            what = (
                f"one linear classifier over {languages} languages ({language_label(source)} and the targets), "
                f"held-out parallel sentences; each target's curve: the share of its sentences assigned to it; "
                + ("bold: accuracy over all of them (mean recall); " if overall else "")
            )
        else:
            what = f"a linear classifier tells each target from {language_label(source)}, held-out parallel sentences; "
        figures.append(
            Figure(
                f"{title}: {what}dashed: chance {fraction}" + _suffix(mine, method, source),
                line_chart(title, series, "layer", "accuracy (%)", guide=(chance, f"chance {fraction}")),
            )
        )
        findings.append(_identity_finding(block, languages, overall, percent, _entry(task)))
    return figures, findings


def _identity_finding(
    block: pd.DataFrame, languages: int | None, overall: list[float], chance: str, entry: str = ""
) -> str:
    """The panel's finding: where the targets' mean accuracy (recall, L-way) is lowest and highest, and the L-way
    accuracy over all languages where stored, against chance; or that every layer stays at 99% or more. `entry`
    names a variant (`_entry`)."""
    lowest = float(block.min().min())
    name = (f"{languages}-way language identity" if languages else "Language identity") + entry
    if lowest >= 0.99:
        said = f"{name} ≥ 99% at every layer for all {len(block)} targets: the languages stay linearly separable"
        return said + (f" (chance {chance})." if languages else ".")
    mean = block.mean(axis=0)
    if not languages:
        return (
            f"{name}, mean over {len(block)} targets, is lowest at layer {int(mean.idxmin())} "
            f"({100 * mean.min():.1f}%) and highest at layer {int(mean.idxmax())} ({100 * mean.max():.1f}%); "
            f"chance is {chance}."
        )
    said = (
        f"{name}: mean recall over {len(block)} targets is lowest at layer {int(mean.idxmin())} "
        f"({100 * mean.min():.1f}%) and highest at layer {int(mean.idxmax())} ({100 * mean.max():.1f}%)"
    )
    if overall:
        values = pd.Series(overall)
        said += (
            f"; accuracy over all {languages} languages is lowest at layer {int(values.idxmin())} "
            f"({100 * values.min():.1f}%) and highest at layer {int(values.idxmax())} ({100 * values.max():.1f}%)"
        )
    return f"{said}; chance is {chance}."


def similarity_view(frame: pd.DataFrame, model: str) -> tuple[list[Figure], list[str]]:
    """Linear CKA per layer per target, paired solid and unpaired dashed, and its findings (Kornblith et al.
    2019); each variant of the task on its own panels, named in their titles and findings."""
    figures: list[Figure] = []
    findings: list[str] = []
    for task in entries(frame, SIMILARITY):
        drawn, said = _similarity_panels(frame, model, task)
        figures += drawn
        findings += said
    return figures, findings


def _similarity_panels(frame: pd.DataFrame, model: str, task: str) -> tuple[list[Figure], list[str]]:
    """The panels and findings of one similarity entry (`similarity_view`)."""
    paired, unpaired = layer_table(frame, task, "cka"), layer_table(frame, task, "cka_unpaired")
    if paired.empty or model not in paired.index.get_level_values("model"):
        return [], []
    figures, findings = [], []
    mine = paired.xs(model, level="model")
    for (method, source), block in mine.groupby(level=["method", "source"], sort=True):
        series, peaks, above, compared = [], [], 0, 0
        for (_, _, target), row in block.iterrows():
            series.append(Series(target, _values(row)))
            peaks.append(int(row.idxmax()))
            key = (model, method, source, target)
            if not unpaired.empty and key in unpaired.index:
                baseline = unpaired.loc[key]
                series.append(Series(f"{target} unpaired", _values(baseline), follows=target))
                both = pd.concat([row, baseline], axis=1).dropna()
                above += int((both.iloc[:, 0] > both.iloc[:, 1]).sum())
                compared += len(both)
        title = f"Linear CKA{_entry(task)} by layer"
        figures.append(
            Figure(
                f"{title}: {language_label(source)} against each target on the same parallel sentences; dashed: "
                f"unpaired sentences (the baseline)" + _suffix(mine, method, source),
                line_chart(title, series, "layer", "CKA", percent=False),
            )
        )
        last = int(block.columns.max())
        where = (
            f"at the last layer ({last}) for every pair"
            if set(peaks) == {last}
            else f"at layer {_span(peaks)} across the {len(peaks)} pairs"
        )
        findings.append(f"CKA{_entry(task)} between {language_label(source)} and each target peaks {where}.")
        if compared:
            share = "at every layer for every pair" if above == compared else f"at {above} of {compared} layer points"
            findings.append(f"Paired CKA{_entry(task)} exceeds the unpaired baseline {share}.")
    return figures, findings


def _measure(name: str) -> str:
    """A measure in words: distances as distances, the rest with spaces."""
    return f"{name} distance" if name in DISTANCES else name.replace("_", " ")


def _p(value: float) -> str:
    return "p < 0.0001" if value < 1e-4 else f"p = {value:.2g}"


def correlation_findings(found: pd.DataFrame) -> tuple[list[str], list[str]]:
    """One sentence per significant correlation (p < ALPHA), saying whether it survives Holm's (1979) correction over
    the measures tested for the same scores; and apart, one per (task, number of targets) saying which measures
    showed no evidence."""
    findings, quiet = [], []
    several = len(found[["method", "source"]].drop_duplicates()) > 1
    for (name, method, source), group in found.groupby(["task", "method", "source"], sort=True):
        task = f"{name} ({method}, source {source})" if several else name
        computed = group[group["rho"].notna()]
        for row in computed[computed["p_value"] < ALPHA].itertuples(index=False):
            outcome = row.outcome.replace("_", " ")
            tested = int(computed["outcome"].eq(row.outcome).sum())
            holds = (
                f"it holds after Holm's correction over the {tested} measures tested (adjusted {_p(row.p_holm)})"
                if row.p_holm < ALPHA
                else f"not after Holm's correction over the {tested} measures tested (adjusted {_p(row.p_holm)}): "
                "a lead, not a finding"
            )
            findings.append(
                f"{task}: ρ({outcome}, {_measure(row.measure)}) = {row.rho:+.2f} ({_p(row.p_value)}, "
                f"n = {row.n_targets} targets): the {outcome} is {'lower' if row.rho < 0 else 'higher'} where the "
                f"{_measure(row.measure)} is higher; {holds}."
            )
        weak = computed[computed["p_value"] >= ALPHA]
        for n, rows in weak.groupby("n_targets", sort=True):
            named = ", ".join(f"{r.outcome.replace('_', ' ')} / {_measure(r.measure)}" for r in rows.itertuples())
            quiet.append(f"{task}: no evidence of a correlation (p ≥ {ALPHA}) at n = {n} targets for {named}.")
    return findings, quiet


def distance_view(found: pd.DataFrame, records: pd.DataFrame) -> tuple[list[Figure], list[Figure], list[str]]:
    """A scatter plot per (task, method, source, measure) whose Spearman's rho of the zero-shot score can be
    computed: a dot per target, rho and p in the title, those at p < ALPHA first and those above apart; and one
    line naming the others with the reason."""
    figures: list[Figure] = []
    quiet: list[Figure] = []
    skipped: list[tuple[str, str]] = []
    scores = found[found["outcome"] == "score"]
    for row in scores.itertuples(index=False):
        if pd.isna(row.rho):
            skipped.append((row.task, row.note))
            continue
        part = records[
            (records["task"] == row.task) & (records["method"] == row.method) & (records["source"] == row.source)
        ]
        points = [
            (str(r.target), float(getattr(r, row.measure)), float(r.score))
            for r in part.itertuples(index=False)
            if not pd.isna(getattr(r, row.measure)) and not pd.isna(r.score)
        ]
        title = f"{row.task}: score against {_measure(row.measure)}"
        stat = f"ρ = {row.rho:+.2f}, {_p(row.p_value)}"
        (figures if row.p_value < ALPHA else quiet).append(
            Figure(
                f"{title} ({stat}, n = {row.n_targets}); method {row.method}, source {language_label(row.source)}",
                scatter_chart(stat, points, _measure(row.measure), "score (%)"),  # the caption names the rest
            )
        )
    reasons = {task: [note for t, note in dict.fromkeys(skipped) if t == task] for task, _ in skipped}
    return figures, quiet, [f"No ρ of {task}'s score: {'; '.join(notes)}." for task, notes in reasons.items()]


def why_sections(store: ResultStore, frame: pd.DataFrame) -> list[WhySection]:
    """Per model holding rows of a WHY_TASKS task or of a variant of one: its layer curves, distance plots and findings (empty when no
    model has any). Distances read URIEL through lang2vec's data (analysis/typology.py); where they cannot be read
    for this store's languages (synthetic languages without their family, a language URIEL lacks), the section
    says so in place of the plots. Centred or limited rows count as their own method (`comparable_method`)."""
    why_rows = frame["task"].map(registered_name).isin(WHY_TASKS) if not frame.empty else None
    if why_rows is None or not why_rows.any():
        return []
    notes: list[str] = []
    try:
        records = transfer_records(store)
    except UserError as error:
        records, notes = None, [f"Distances not computed: {error}"]
    found = correlations(records) if records is not None and not records.empty else None
    names = display_names(frame)
    frame = comparable(frame)
    sections = []
    for model in sorted(set(frame.loc[why_rows, "model"])):
        curves, findings = [], []
        for view in (probe_view, identity_view, similarity_view):
            drawn, said = view(frame, model)
            curves += drawn
            findings += said
        scatters, quiet_scatters, skipped, quiet = [], [], [], []
        if found is not None and records is not None:
            mine = found[found["model"] == model]
            scatters, quiet_scatters, skipped = distance_view(mine, records[records["model"] == model])
            claimed, quiet = correlation_findings(mine)
            findings += claimed
        name = names.get(model, model)
        sections.append(
            WhySection(name, curves, scatters, findings, [*notes, *skipped], URIEL_SOURCE, quiet, quiet_scatters)
        )
    return sections
