"""Small inline SVG charts written by hand: line charts (per-layer scores, layer weights), heatmaps, a diverging
Δ heatmap (method × language, not-significant cells struck through) and grouped bars with interval whiskers and a
chance line.

Why not matplotlib: it is not a dependency of the suite, adds about a second of import time, and
its SVGs are tens of kilobytes per chart with glyph paths or font references; these charts are a few
hundred bytes to a few kilobytes, use the page's own font, and carry `<title>` tooltips. Every label
is escaped; nothing references anything outside the SVG.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#8c564b", "#7f7f7f")
FONT = "system-ui, -apple-system, 'Segoe UI', sans-serif"


@dataclass(frozen=True)
class Series:
    """One line: a y value per x = 0, 1, ... (None: no value there); `emphasis` draws it bold; `follows` names the
    series whose colour a dashed companion takes (e.g. a probe's control task beside its accuracy)."""

    label: str
    values: list[float | None]
    emphasis: bool = False
    follows: str | None = None


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high], about `count` of them."""
    if high <= low:
        low, high = low - 0.05 * (abs(low) or 1), high + 0.05 * (abs(high) or 1)
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    return [round(first + i * step, 10) for i in range(math.ceil((high - first) / step - 1e-9) + 1)]


def _number(value: float, percent: bool) -> str:
    return f"{100 * value:.1f}" if percent else f"{value:.3g}"


def _tick(value: float, percent: bool) -> str:
    """A tick label without trailing zeros (ticks are round numbers)."""
    return f"{round(100 * value if percent else value, 8):g}"


def line_chart(
    title: str,
    series: list[Series],
    x_label: str,
    y_label: str,
    percent: bool = True,
    width: int = 520,
    height: int = 260,
    colored: int = 8,
    zero_based: bool = False,
    guide: tuple[float, str] | None = None,
) -> Markup:
    """A line chart; the first `colored` plain series get colours and legend entries, the rest grey. `zero_based`:
    the y axis starts at 0 (so that small differences do not look large); `guide`: a dashed horizontal line at a
    value, with its label (e.g. uniform layer weights 1/L)."""
    values = [v for s in series for v in s.values if v is not None]
    points = max((len(s.values) for s in series), default=0)
    if not values or points == 0:
        return Markup("")
    extent = values + ([guide[0]] if guide else []) + ([0.0] if zero_based else [])
    ticks = nice_ticks(min(extent), max(extent))
    left, right, top, bottom = 46, 170, 26, 40
    plot_w, plot_h = width - left - right, height - top - bottom

    def x_of(i: int) -> float:
        return left + plot_w * i / (points - 1) if points > 1 else left + plot_w / 2

    def y_of(v: float) -> float:
        return top + plot_h * (1 - (v - ticks[0]) / (ticks[-1] - ticks[0]))

    parts = [f'<text x="{left}" y="16" class="chart-title">{escape(title)}</text>']
    for tick in ticks:
        y = y_of(tick)
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_tick(tick, percent)}'
            "</text>"
        )
    stride = max(1, math.ceil(points / 13))
    for i in range(0, points, stride):
        parts.append(f'<text x="{x_of(i):.1f}" y="{top + plot_h + 16}" text-anchor="middle">{i}</text>')
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" text-anchor="middle">{escape(x_label)}</text>'
        f'<text transform="translate(12 {top + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle">'
        f"{escape(y_label)}</text>"
    )
    if guide:
        y = y_of(guide[0])
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#555" stroke-dasharray="5 4">'
            f"<title>{escape(guide[1])}</title></line>"
            f'<text x="{left + plot_w - 4}" y="{y - 4:.1f}" text-anchor="end" fill="#555">{escape(guide[1])}</text>'
        )
    plain = [s for s in series if not s.emphasis and s.follows is None]
    colours = {id(s): PALETTE[i] for i, s in enumerate(plain[:colored])}
    by_label = {s.label: colours[id(s)] for s in plain if id(s) in colours}
    legend = [s for s in series if s.emphasis or id(s) in colours]
    drawn = sorted(series, key=lambda s: (s.emphasis, id(s) in colours))  # grey first, bold last
    for s in drawn:
        colour = "#111" if s.emphasis else colours.get(id(s), by_label.get(s.follows or "", "#c8c8c8"))
        stroke = 2.6 if s.emphasis else 1.4
        dash = ' stroke-dasharray="4 3"' if s.follows is not None else ""
        for segment in _segments(s.values):
            coords = " ".join(f"{x_of(i):.1f},{y_of(v):.1f}" for i, v in segment)
            parts.append(
                f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="{stroke}"{dash}>'
                f"<title>{escape(s.label)}</title></polyline>"
            )
        for i, v in enumerate(s.values):
            if v is not None:
                parts.append(
                    f'<circle cx="{x_of(i):.1f}" cy="{y_of(v):.1f}" r="{2.6 if s.emphasis else 2}" '
                    f'fill="{colour}"><title>{escape(s.label)}, {escape(x_label)} {i}: '
                    f"{_number(v, percent)}</title></circle>"
                )
    for row, s in enumerate(legend[:12]):
        y = top + 6 + 16 * row
        colour = "#111" if s.emphasis else colours[id(s)]
        label = s.label if len(s.label) <= 24 else s.label[:23] + "…"
        parts.append(
            f'<line x1="{left + plot_w + 12}" x2="{left + plot_w + 30}" y1="{y}" y2="{y}" stroke="{colour}" '
            f'stroke-width="{2.6 if s.emphasis else 2}"/><text x="{left + plot_w + 36}" y="{y + 4}">'
            f"{escape(label)}<title>{escape(s.label)}</title></text>"
        )
    if len(plain) > colored:
        y = top + 6 + 16 * min(len(legend), 12)
        parts.append(
            f'<line x1="{left + plot_w + 12}" x2="{left + plot_w + 30}" y1="{y}" y2="{y}" stroke="#c8c8c8" '
            f'stroke-width="2"/><text x="{left + plot_w + 36}" y="{y + 4}">{len(plain) - colored} more</text>'
        )
    return _svg(title, width, height, parts)


def _segments(values: list[float | None]) -> list[list[tuple[int, float]]]:
    """Runs of consecutive defined values (a None breaks the line)."""
    runs: list[list[tuple[int, float]]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            runs.append([])
        else:
            runs[-1].append((i, v))
    return [run for run in runs if run]


def heatmap(
    title: str, rows: list[tuple[str, str]], columns: list[tuple[str, str]], values: list[list[float | None]]
) -> Markup:
    """A rows × columns grid of percentages, darker = higher. Labels are (short, full) pairs."""
    defined = [v for row in values for v in row if v is not None]
    if not defined:
        return Markup("")
    low, high = min(defined), max(defined)
    cell_w, cell_h, left, top = 46, 26, 12 + 8 * max(len(short) for short, _ in rows), 44
    width = max(left + cell_w * len(columns) + 12, 7 * len(title) + 12)
    height = top + cell_h * len(rows) + 8
    parts = [f'<text x="0" y="16" class="chart-title">{escape(title)}</text>']
    parts += _column_labels(columns, left, cell_w, top)
    for i, (short, full) in enumerate(rows):
        y = top + cell_h * i
        parts.append(
            f'<text x="{left - 6}" y="{y + cell_h / 2 + 4}" text-anchor="end">{escape(short)}'
            f"<title>{escape(full)}</title></text>"
        )
        for j, value in enumerate(values[i]):
            x = left + cell_w * j
            share = 0.5 if high == low or value is None else (value - low) / (high - low)
            fill = "#eeeeee" if value is None else _blue(share)
            ink = "#fff" if value is not None and share > 0.55 else "#222"
            text = "–" if value is None else f"{100 * value:.1f}"
            tip = f"{full} → {columns[j][1]}: {'missing' if value is None else text}"
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" fill="{fill}">'
                f'<title>{escape(tip)}</title></rect><text x="{x + cell_w / 2 - 1}" y="{y + cell_h / 2 + 3}" '
                f'text-anchor="middle" fill="{ink}">{text}</text>'
            )
    return _svg(title, width, height, parts)


def delta_heatmap(
    title: str,
    rows: list[str],
    columns: list[tuple[str, str]],
    values: list[list[float | None]],
    marks: list[list[str]],
    higher_is_better: bool = True,
) -> Markup:
    """Methods (rows) × languages (columns) of Δ against the reference, in points: blue better, red worse, white 0
    (diverging, centred on 0); `marks` per cell: "*" significant, "n.s." not (the cell struck through and pale),
    "" not tested."""
    defined = [abs(v) for row in values for v in row if v is not None]
    if not defined:
        return Markup("")
    scale = max(defined) or 1.0
    cell_w, cell_h, left, top = 62, 30, 16 + 7 * max(len(r) for r in rows), 46
    width = max(left + cell_w * len(columns) + 12, 7 * len(title) + 12)
    height = top + cell_h * len(rows) + 26
    parts = [f'<text x="0" y="16" class="chart-title">{escape(title)}</text>']
    parts += _column_labels(columns, left, cell_w, top)
    for i, label in enumerate(rows):
        y = top + cell_h * i
        parts.append(f'<text x="{left - 6}" y="{y + cell_h / 2 + 4}" text-anchor="end">{escape(label)}</text>')
        for j, value in enumerate(values[i]):
            x, mark = left + cell_w * j, marks[i][j]
            if value is None:
                fill, text = "#eeeeee", "–"
            else:
                better = value if higher_is_better else -value
                fill = _diverging(better / scale, faded=mark == "n.s.")
                text = f"{100 * value:+.1f}" + ("*" if mark == "*" else "")
            tip = f"{label}, {columns[j][1]}: Δ {text}" + {"*": " (significant)", "n.s.": " (not significant)"}.get(
                mark, " (significance not tested)" if value is not None else ""
            )
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" fill="{fill}" '
                f'class="delta-cell{" ns" if mark == "n.s." else ""}"><title>{escape(tip)}</title></rect>'
            )
            if mark == "n.s.":
                parts.append(
                    f'<line x1="{x + 3}" y1="{y + cell_h - 5}" x2="{x + cell_w - 5}" y2="{y + 3}" stroke="#999" '
                    'stroke-width="1"/>'
                )
            label_text = text + (" n.s." if mark == "n.s." else "")
            parts.append(
                f'<text x="{x + cell_w / 2 - 1}" y="{y + cell_h / 2 + 4}" text-anchor="middle">{label_text}</text>'
            )
    parts.append(
        f'<text x="0" y="{height - 6}">blue: better than the reference, red: worse; * significant (p &lt; 0.05), '
        "struck through: not significant</text>"
    )
    return _svg(title, width, height, parts)


def _diverging(share: float, faded: bool = False) -> str:
    """Red (share −1) through white (0) to blue (+1); `faded` halves the colour (not significant)."""
    share = max(-1.0, min(1.0, share)) * (0.5 if faded else 1.0)
    end = (33, 102, 172) if share >= 0 else (178, 24, 43)
    amount = abs(share) * 0.85
    return "#" + "".join(f"{round(255 + (b - 255) * amount):02x}" for b in end)


def bar_chart(
    title: str,
    groups: list[tuple[str, str]],
    series: list[str],
    values: list[list[tuple[float, float, float] | None]],
    y_label: str,
    chance: float | None = None,
) -> Markup:
    """Grouped bars in percent from 0: one group per language (`groups`: (short, full)), one bar per series
    (method), `values[series][group]` = (score, low, high) with the interval as a whisker (NaN bounds: none);
    `chance`: a dashed line at the chance level."""
    defined = [v for row in values for v in row if v is not None]
    if not defined:
        return Markup("")
    top_value = max(max(v[0], v[2] if not math.isnan(v[2]) else v[0]) for v in defined)
    ticks = nice_ticks(0.0, max(top_value, chance or 0.0))
    bar, gap = 14, 16
    group_w = bar * len(series) + gap
    left, right, top, bottom = 46, 150, 26, 40
    width = max(420, left + right + group_w * len(groups))
    height = 280
    plot_h = height - top - bottom

    def y_of(v: float) -> float:
        return top + plot_h * (1 - v / ticks[-1])

    parts = [f'<text x="{left}" y="16" class="chart-title">{escape(title)}</text>']
    for tick in ticks:
        y = y_of(tick)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_tick(tick, True)}</text>'
        )
    for g, (short, full) in enumerate(groups):
        x0 = left + gap / 2 + group_w * g
        parts.append(
            f'<text x="{x0 + bar * len(series) / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle">'
            f"{escape(short)}<title>{escape(full)}</title></text>"
        )
        for k, name in enumerate(series):
            value = values[k][g]
            if value is None:
                continue
            mean, low, high = value
            x = x0 + bar * k
            interval = "" if math.isnan(low) else f", 95% interval {100 * low:.1f}–{100 * high:.1f}"
            parts.append(
                f'<rect x="{x:.1f}" y="{y_of(mean):.1f}" width="{bar - 2}" height="{y_of(0) - y_of(mean):.1f}" '
                f'fill="{PALETTE[k % len(PALETTE)]}"><title>{escape(name)}, {escape(full)}: {100 * mean:.1f}'
                f"{interval}</title></rect>"
            )
            if not math.isnan(low):
                mid = x + (bar - 2) / 2
                parts.append(
                    f'<path class="whisker" d="M{mid:.1f} {y_of(low):.1f}V{y_of(high):.1f}M{mid - 3:.1f} '
                    f'{y_of(low):.1f}h6M{mid - 3:.1f} {y_of(high):.1f}h6" stroke="#111" stroke-width="1.2" '
                    'fill="none"/>'
                )
    if chance is not None:
        y = y_of(chance)
        parts.append(
            f'<line class="chance" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#a1161b" '
            f'stroke-dasharray="5 4"><title>chance {100 * chance:.1f}</title></line>'
            f'<text x="{width - right + 4}" y="{y + 4:.1f}" fill="#a1161b">chance {100 * chance:.1f}</text>'
        )
    parts.append(
        f'<text transform="translate(12 {top + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle">'
        f"{escape(y_label)}</text>"
    )
    for k, name in enumerate(series[:12]):
        y = top + 30 + 16 * k
        label = name if len(name) <= 20 else name[:19] + "…"
        parts.append(
            f'<rect x="{width - right + 12}" y="{y - 8}" width="10" height="10" fill="{PALETTE[k % len(PALETTE)]}"/>'
            f'<text x="{width - right + 28}" y="{y + 1}">{escape(label)}<title>{escape(name)}</title></text>'
        )
    return _svg(title, width, height, parts)


def _column_labels(columns: list[tuple[str, str]], left: float, cell_w: float, top: float) -> list[str]:
    """A grid's column labels (short, with the full one as its tooltip), centred over their cells."""
    return [
        f'<text x="{left + cell_w * j + cell_w / 2}" y="{top - 8}" text-anchor="middle">'
        f"{escape(short)}<title>{escape(full)}</title></text>"
        for j, (short, full) in enumerate(columns)
    ]


def _blue(share: float) -> str:
    """From a pale to a deep blue as share goes from 0 to 1."""
    pale, deep = (239, 246, 255), (8, 69, 148)
    return "#" + "".join(f"{round(a + (b - a) * share):02x}" for a, b in zip(pale, deep))


def _svg(title: str, width: int, height: int, parts: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" font-family="{FONT}" '
        f'font-size="11" fill="#333">{"".join(parts)}</svg>'
    )


def scatter_chart(
    title: str,
    points: list[tuple[str, float, float]],
    x_label: str,
    y_label: str,
    percent: bool = True,
    width: int = 300,
    height: int = 230,
) -> Markup:
    """A scatter plot of labelled points (label, x, y), each dot named by its label (e.g. a target language):
    y is a score (in % when `percent`), x a measure such as a typological distance (Lauscher et al. 2020)."""
    if not points:
        return Markup("")
    x_ticks = nice_ticks(min(p[1] for p in points), max(p[1] for p in points), 4)
    y_ticks = nice_ticks(min(p[2] for p in points), max(p[2] for p in points), 4)
    left, right, top, bottom = 46, 14, 26, 40
    plot_w, plot_h = width - left - right, height - top - bottom

    def x_of(v: float) -> float:
        return left + plot_w * (v - x_ticks[0]) / (x_ticks[-1] - x_ticks[0])

    def y_of(v: float) -> float:
        return top + plot_h * (1 - (v - y_ticks[0]) / (y_ticks[-1] - y_ticks[0]))

    parts = [f'<text x="{left}" y="16" class="chart-title">{escape(title)}</text>']
    for tick in y_ticks:
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y_of(tick):.1f}" y2="{y_of(tick):.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y_of(tick) + 4:.1f}" text-anchor="end">{_tick(tick, percent)}</text>'
        )
    for tick in x_ticks:
        parts.append(f'<text x="{x_of(tick):.1f}" y="{top + plot_h + 16}" text-anchor="middle">{tick:g}</text>')
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" text-anchor="middle">{escape(x_label)}</text>'
        f'<text transform="translate(12 {top + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle">'
        f"{escape(y_label)}</text>"
    )
    for label, x, y in points:
        parts.append(
            f'<circle cx="{x_of(x):.1f}" cy="{y_of(y):.1f}" r="3" fill="{PALETTE[0]}"><title>{escape(label)}: '
            f"{escape(x_label)} {x:.3g}, {_number(y, percent)}</title></circle>"
            f'<text x="{x_of(x) + 5:.1f}" y="{y_of(y) - 4:.1f}">{escape(label)}</text>'
        )
    return _svg(title, width, height, parts)
