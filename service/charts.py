"""Small inline SVG bar charts, drawn on the server so the console needs no JavaScript build."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

WIDTH, HEIGHT, PAD = 720, 180, 24


def stacked_bar_chart(series: Sequence[tuple[str, Mapping[str, int]]], colours: Mapping[str, str],
                      title: str) -> str:
    """One bar per (label, {part: count}), parts stacked in the order of `colours`."""
    peak = max((sum(parts.values()) for _, parts in series), default=0) or 1
    slot = (WIDTH - 2 * PAD) / max(1, len(series))
    shapes = []
    for i, (label, parts) in enumerate(series):
        x, top = PAD + i * slot, HEIGHT - PAD
        for part, colour in colours.items():
            height = (HEIGHT - 2 * PAD) * parts.get(part, 0) / peak
            if height:
                top -= height
                shapes.append(f'<rect x="{x:.1f}" y="{top:.1f}" width="{slot * 0.8:.1f}" height="{height:.1f}" '
                              f'fill="{colour}"><title>{escape(label)}h {escape(part)}: {parts[part]}</title></rect>')
        if i % 3 == 0:
            shapes.append(f'<text x="{x:.1f}" y="{HEIGHT - 8}" font-size="10">{escape(label)}</text>')
    legend = " ".join(f'<tspan fill="{c}">&#9632; {escape(p)}</tspan>' for p, c in colours.items())
    return _frame(title, peak, shapes, legend)


def bar_chart(series: Sequence[tuple[str, int]], title: str, colour: str = "#2c5d8a") -> str:
    return stacked_bar_chart([(label, {"count": n}) for label, n in series], {"count": colour}, title)


def _frame(title: str, peak: int, shapes: list[str], legend: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
            f'aria-label="{escape(title)}" class="chart">'
            f'<text x="{PAD}" y="14" font-size="12" font-weight="bold">{escape(title)}</text>'
            f'<text x="{WIDTH - PAD}" y="14" font-size="11" text-anchor="end">{legend}</text>'
            f'<text x="2" y="{PAD + 4}" font-size="10">{peak}</text>'
            f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#999"/>'
            + "".join(shapes) + "</svg>")
