"""The report's "Why transfer differs" section, read from stores written by hand: the probe, language-identity and
CKA curves per layer with their sentences, the distance scatter plots, a correlation claimed only at p < 0.05,
no section without those tasks, every string escaped."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from mbert_eval.analysis.typology import distances
from mbert_eval.report import render_report
from mbert_eval.store.results import ResultRow, ResultStore
from tests.helpers import EVIL

SOURCE = "en"
TARGETS = ("de", "es", "fr", "zh", "hi", "ja")  # real languages URIEL has, at distinct syntactic distances
LAYERS = 13  # the embeddings and 12 layers


def _row(task: str, metric: str, target: str, score: float, model: str = "e5-small", **extra) -> ResultRow:
    return ResultRow(
        f"{task}-{model}", task, metric, model, "baseline", SOURCE, target, 1, score, 100, "h", "v", extra=extra
    )


def _probe_rows(target: str, peak: int, level: float, model: str) -> list[ResultRow]:
    """A probe whose accuracy peaks at layer `peak` (control far below), its chosen-layer rows first."""
    accuracy = [level - 0.02 * abs(layer - peak) for layer in range(LAYERS)]
    rows = [_row("pos_probe", "accuracy", target, accuracy[peak], model, layer=peak)]
    for layer in range(LAYERS):
        rows.append(_row("pos_probe", f"accuracy_layer{layer:02d}", target, accuracy[layer], model))
        rows.append(_row("pos_probe", f"control_layer{layer:02d}", target, 0.3, model))
        rows.append(_row("pos_probe", f"selectivity_layer{layer:02d}", target, accuracy[layer] - 0.3, model))
    return rows


def _layer_rows(target: str, model: str) -> list[ResultRow]:
    """Language identity at 100% on every layer; CKA rising to the last layer, above its unpaired baseline."""
    rows = [_row("language_identity", "accuracy", target, 1.0, model, chance=0.5)]
    rows += [_row("language_identity", f"accuracy_layer{layer:02d}", target, 1.0, model) for layer in range(LAYERS)]
    rows += [_row("similarity", "cka", target, 0.8, model), _row("similarity", "cka_unpaired", target, 0.2, model)]
    for layer in range(LAYERS):
        rows.append(_row("similarity", f"cka_layer{layer:02d}", target, 0.3 + 0.05 * layer, model))
        rows.append(_row("similarity", f"cka_unpaired_layer{layer:02d}", target, 0.1, model))
    return rows


def build_store(folder: Path, levels: dict[str, float], model: str = "e5-small") -> ResultStore:
    """pos_probe, language_identity and similarity rows for TARGETS, the probe's main score per target `levels`."""
    from mbert_eval.grid.run import metric_roles

    store = ResultStore(folder / "results.sqlite")
    rows = [_row("pos_probe", "accuracy", SOURCE, 0.97, model, layer=6)]
    for i, target in enumerate(TARGETS):
        rows += _probe_rows(target, 4 + i % 3, levels[target], model)
        rows += _layer_rows(target, model)
    store.write_cell(rows)
    store.write_metric_roles(metric_roles(["pos_probe", "language_identity", "similarity"]))
    return store


def _syntactic(target: str) -> float:
    value = distances(SOURCE, target)["syntactic"]
    assert value is not None
    return value


def test_section_shows_curves_and_sentences_from_the_numbers(tmp_path: Path) -> None:
    """Every curve is drawn and every sentence states what the stored numbers say."""
    store = build_store(tmp_path, {target: 0.9 - 0.05 * i for i, target in enumerate(TARGETS)})
    page = html.unescape(render_report(store, "why"))
    section = page[page.index('<section id="why">') :]
    assert "Why transfer differs" in section
    assert "POS probe accuracy by layer" in section and 'stroke-dasharray="4 3"' in section
    assert "(best 4)" in section and "(best 6)" in section
    assert "Language identity by layer" in section and "chance 1/2" in section
    assert "Linear CKA by layer" in section
    assert (
        "Best POS probe layer: 4–6 for 6 of 6 targets; accuracy falls by 12–16 points to the last layer (12)" in section
    )
    assert "accuracy falls by" in section  # every peak is inside the depth, so each falls to layer 12
    assert "Language identity ≥ 99% at every layer for all 6 targets" in section
    assert "peaks at the last layer (12) for every pair" in section
    assert "Paired CKA exceeds the unpaired baseline at every layer for every pair" in section
    assert "URIEL (Littell et al. 2017)" in section
    assert "score against syntactic distance" in section


def test_a_correlation_is_claimed_only_when_significant(tmp_path: Path) -> None:
    """A perfect monotone relation over 6 targets (p < 0.05) gets its sentence; shuffled scores give none."""
    ranked = sorted(TARGETS, key=_syntactic)
    monotone = {target: 0.9 - 0.05 * ranked.index(target) for target in TARGETS}
    page = html.unescape(render_report(build_store(tmp_path / "a", monotone), "why"))
    assert "ρ(score, syntactic distance) = -1.00 (p = 0.0028, n = 6 targets)" in page  # 2 of the 720 pairings
    assert "the score is lower where the syntactic distance is higher; it holds after Holm's correction" in page

    order = [ranked[i] for i in (2, 5, 0, 3, 1, 4)]  # scores unrelated to distance in rank
    rng = np.random.default_rng(0)
    noisy = {target: 0.6 + 0.05 * order.index(target) + rng.normal(0, 0.001) for target in TARGETS}
    page = html.unescape(render_report(build_store(tmp_path / "b", noisy), "why"))
    assert "ρ(score, syntactic distance)" not in page
    assert "no evidence of a correlation (p ≥ 0.05) at n = 6 targets" in page
    folded = page.index('<details class="quiet">')  # what shows no evidence is folded away, plots and sentences
    assert folded < page.index("no evidence of a correlation") and folded < page.index("score against syntactic")


def test_no_section_without_those_tasks(tmp_path: Path) -> None:
    """A store of other tasks shows no section and no link to it."""
    store = ResultStore(tmp_path / "results.sqlite")
    store.write_cell([_row("xnli", "accuracy", target, 0.7) for target in (SOURCE, *TARGETS)])
    page = render_report(store, "plain")
    assert 'id="why"' not in page and "Why transfer differs" not in page


def test_evil_strings_are_escaped(tmp_path: Path) -> None:
    """A model named like a script tag is shown escaped, in headings, captions and SVG alike."""
    store = build_store(tmp_path, {target: 0.8 for target in TARGETS}, model=EVIL)
    page = render_report(store, "why")
    assert EVIL not in page
    assert "&lt;script&gt;" in page[page.index('<section id="why">') :]


def test_markdown_lists_the_findings(tmp_path: Path) -> None:
    """The Markdown export carries the same sentences as the page, under the section's heading."""
    store = build_store(tmp_path, {target: 0.9 - 0.05 * i for i, target in enumerate(TARGETS)})
    text = render_report(store, "why", "md")
    assert "## Why transfer differs" in text
    assert "- Language identity ≥ 99% at every layer for all 6 targets" in text


def test_no_transfer_gap_note_for_tasks_that_train_nothing_on_the_source(tmp_path: Path) -> None:
    """Language identity and CKA compare a source with a target: no source score to miss, so no note asks for
    one; the probe is trained on the source, so its note stays where the source is not scored."""
    store = build_store(tmp_path, {target: 0.8 for target in TARGETS})
    page = html.unescape(render_report(store, "why"))
    parts = page.split('<section id="task-')[1:]
    sections = {
        task: next(part for part in parts if f"<h2>{task}" in part) for task in ("language_identity", "similarity")
    }
    assert "Transfer gap not shown" not in sections["language_identity"]
    assert "Transfer gap not shown" not in sections["similarity"]


def test_an_l_way_classifier_has_its_own_panel_chance_and_overall_curve(tmp_path: Path) -> None:
    """Rows of one classifier over 7 languages (`all_languages`, chance 1/7) beside the pairwise rows of the same
    cells: a panel of their own with the rows' chance line, the overall accuracy drawn as "all", and a finding
    stating their numbers; the pairwise panel keeps chance 1/2 and its sentence."""
    from dataclasses import replace

    from mbert_eval.report.why import comparable, identity_view

    overall = [0.6 + 0.02 * abs(layer - 7) for layer in range(LAYERS)]
    extra = {"all_languages": 7, "overall_accuracy_by_layer": overall}
    rows = []
    for target in TARGETS:
        rows += [r for r in _layer_rows(target, "e5-small") if r.task == "language_identity"]
        recall = [0.5 + 0.03 * abs(layer - 8) for layer in range(LAYERS)]
        rows.append(_row("language_identity", "accuracy", target, recall[8], chance=1 / 7, layer=8, **extra))
        rows += [
            _row("language_identity", f"accuracy_layer{layer:02d}", target, recall[layer], **extra)
            for layer in range(LAYERS)
        ]
    store = ResultStore(tmp_path / "results.sqlite")
    store.write_cell([r for r in rows if "all_languages" not in r.extra])
    store.write_cell([replace(r, cell_key="l-way") for r in rows if "all_languages" in r.extra])
    figures, findings = identity_view(comparable(store.dataframe()), "e5-small")
    assert len(figures) == 2
    pairwise, l_way = sorted(figures, key=lambda figure: "7 languages" in figure.caption)
    assert "chance 1/2" in pairwise.caption and "tells each target from" in pairwise.caption
    assert "one linear classifier over 7 languages" in l_way.caption and "chance 1/7" in l_way.caption
    assert "method baseline (7-way)" in l_way.caption
    assert "<title>all</title>" in l_way.svg and "<title>all</title>" not in pairwise.svg
    assert "chance 1/7" in l_way.svg
    assert findings == [
        "Language identity ≥ 99% at every layer for all 6 targets: the languages stay linearly separable.",
        "7-way language identity: mean recall over 6 targets is lowest at layer 8 (50.0%) and highest at layer 0 "
        "(74.0%); accuracy over all 7 languages is lowest at layer 7 (60.0%) and highest at layer 0 (74.0%); "
        "chance is 14.3%.",
    ]


def test_curves_count_each_seed_once_and_each_cell_once(tmp_path: Path) -> None:
    """A layer curve is the mean over seeds of each seed's cells (seed 1 run under two settings counted twice
    before: 0.5 where the seeds give 0.6), and the L-way "all" curve the mean over seeds of its cells' curves (two
    seeds' equal curves were merged into one before: [0.75, 0.85] where the seeds give [0.8, 0.9])."""
    from dataclasses import replace

    from mbert_eval.report.why import _identity_extras, comparable, layer_table

    rows = []
    for key, seed, level, overall in (
        ("a-1", 1, 0.2, [0.9, 1.0]),
        ("b-1", 1, 0.2, [0.9, 1.0]),
        ("a-2", 2, 1.0, [0.9, 1.0]),
        ("a-3", 3, 0.6, [0.6, 0.7]),
    ):
        extra = {"all_languages": 3, "overall_accuracy_by_layer": overall}
        cell = [_row("language_identity", "accuracy", "de", level, **extra)]
        cell += [_row("language_identity", f"accuracy_layer{layer:02d}", "de", level, **extra) for layer in range(2)]
        cell.append(_row("language_identity", "accuracy", "fr", 0.5, **extra))  # a second target: the same curve
        rows += [replace(row, cell_key=key, seed=seed) for row in cell]
    store = ResultStore(tmp_path / "results.sqlite")
    store.write_cell(rows)
    frame = comparable(store.dataframe())
    table = layer_table(frame, "language_identity", "accuracy")
    assert np.allclose(table.loc[("e5-small", "baseline (3-way)", SOURCE, "de")].tolist(), [0.6, 0.6])
    _, languages, overall = _identity_extras(frame, "language_identity", "e5-small", "baseline (3-way)", SOURCE)
    assert languages == 3 and np.allclose(overall, [0.8, 0.9])


def test_a_correlation_that_does_not_survive_holms_correction_is_called_a_lead() -> None:
    import pandas as pd

    from mbert_eval.report.why import correlation_findings

    found = pd.DataFrame(
        [
            {
                "task": "pos",
                "model": "m",
                "method": "baseline",
                "source": "en",
                "outcome": "score",
                "measure": name,
                "n_targets": 7,
                "rho": rho,
                "p_value": p,
                "p_holm": adjusted,
                "note": "",
            }
            for name, rho, p, adjusted in (("syntactic", -0.83, 0.021, 0.15), ("genetic", 0.1, 0.8, 1.0))
        ]
    )
    claimed, quiet = correlation_findings(found)
    said = " ".join(claimed)
    assert quiet == ["pos: no evidence of a correlation (p ≥ 0.05) at n = 7 targets for score / genetic distance."]
    assert "ρ(score, syntactic distance) = -0.83 (p = 0.021, n = 7 targets)" in said
    assert "not after Holm's correction over the 2 measures tested (adjusted p = 0.15): a lead, not a finding" in said


def test_a_limited_try_is_drawn_apart_from_the_full_run(tmp_path: Path) -> None:
    """A `--limit` quick try shares the full run's method name in the store (its cells are keyed apart): its curves
    are its own (`baseline (limit 10)`), never averaged into the full run's, in every view."""
    import dataclasses

    store = build_store(tmp_path, {target: 0.9 - 0.05 * i for i, target in enumerate(TARGETS)})
    tried = [
        dataclasses.replace(row, cell_key=f"limited-{row.cell_key}", extra={**row.extra, "limit": 10})
        for target in TARGETS
        for row in [*_probe_rows(target, 12, 0.4, "e5-small"), *_layer_rows(target, "e5-small")]
    ]
    tried = [
        dataclasses.replace(row, score=0.9 - 0.05 * int(row.metric[-2:])) if row.metric.startswith("cka_layer") else row
        for row in tried
    ]  # the try's CKA falls with depth
    store.write_cell(tried)
    section = html.unescape(render_report(store, "why"))
    section = section[section.index('<section id="why">') :]
    assert "Best POS probe layer: 4–6 for 6 of 6 targets" in section  # the full run's, unblended
    assert "peaks at the last layer (12) for every pair" in section
    assert "baseline (limit 10)" in section


def test_a_variant_is_drawn_and_said_apart_from_its_plain_entry(tmp_path: Path) -> None:
    """Rows of `pos_probe:first`, `language_identity:lway` and `similarity:short` (task variants, `TASK:LABEL`)
    get panels and findings of their own, named by the variant, beside the plain entries'; a store holding only a
    variant still has the section."""
    import dataclasses

    from mbert_eval.grid.run import metric_roles

    def renamed(rows: list[ResultRow], label: str) -> list[ResultRow]:
        return [
            dataclasses.replace(row, task=f"{row.task}:{label}", cell_key=f"{row.cell_key}:{label}") for row in rows
        ]

    store = build_store(tmp_path / "both", {target: 0.9 - 0.05 * i for i, target in enumerate(TARGETS)})
    variant = []
    for target in TARGETS:
        variant += renamed(_probe_rows(target, 11, 0.8, "e5-small"), "first")  # peaks at layer 11, not 4–6
        layers = _layer_rows(target, "e5-small")
        variant += renamed([r for r in layers if r.task == "language_identity"], "lway")
        variant += renamed([r for r in layers if r.task == "similarity"], "short")
    store.write_cell(variant)
    store.write_metric_roles(metric_roles(["pos_probe:first", "language_identity:lway", "similarity:short"]))
    section = html.unescape(render_report(store, "why"))
    section = section[section.index('<section id="why">') :]
    assert "Best POS probe layer: 4–6 for 6 of 6 targets" in section  # the plain entry's, unblended
    assert "Best POS (pos_probe:first) probe layer: 11 for all 6 targets" in section
    assert "POS (pos_probe:first) probe accuracy by layer" in section
    assert "Language identity (language_identity:lway) ≥ 99% at every layer for all 6 targets" in section
    assert "Language identity (language_identity:lway) by layer" in section
    assert "CKA (similarity:short) between" in section and "Linear CKA (similarity:short) by layer" in section
    assert "Paired CKA (similarity:short) exceeds the unpaired baseline at every layer for every pair" in section
    assert section.index("Best POS probe layer") < section.index("Best POS (pos_probe:first)")

    alone = ResultStore(tmp_path / "alone" / "results.sqlite")
    alone.write_cell([row for row in variant if row.task == "pos_probe:first"])
    alone.write_metric_roles(metric_roles(["pos_probe:first"]))
    page = html.unescape(render_report(alone, "why"))
    assert "Why transfer differs" in page and "Best POS (pos_probe:first) probe layer: 11" in page


def test_the_source_scored_on_its_own_language_is_counted_as_a_language_not_a_target(tmp_path: Path) -> None:
    """A grid whose targets include the source (why-e5.yaml's en): the probe findings said "for 6 of 7 targets"
    beside correlations over the 6 real ones; they say languages, and name the source among them."""
    store = build_store(tmp_path, {target: 0.9 - 0.05 * i for i, target in enumerate(TARGETS)})
    store.write_cell(_probe_rows(SOURCE, 5, 0.95, "e5-small"))
    section = html.unescape(render_report(store, "why"))
    section = section[section.index('<section id="why">') :]
    assert f"Best POS probe layer: 4–6 for 7 of 7 languages (the source, {SOURCE}, among them)" in section
    assert "for 7 of 7 targets" not in section
