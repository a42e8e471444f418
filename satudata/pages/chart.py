"""The dataset page's chart: one series from ClickHouse, drawn as an SVG bar chart on the server."""

from __future__ import annotations

from html import escape

from satudata.catalogue import Dataset
from satudata.portal import Portal
from satudata.queries import literal

# Per kind: the x column, the y expression over the suppressed rows, and the series' label.
# Suppressed counts (`<5`) are left out of sums (toUInt64OrNull gives NULL): a chart never shows
# more than the table does.
CHARTS = {
    "indikator": ("periode", "round(avg(nilai), 2)", "rata-rata {indicator} ({unit})"),
    "peringatan": ("toStartOfMonth(waktu_terbit)", "count()", "peringatan per bulan"),
    "laporan": ("bulan", "sum(toUInt64OrNull(jumlah))", "laporan per bulan (tanpa sel tersensor)"),
    "perizinan": ("bulan", "round(avg(persen_tepat_waktu), 1)", "rata-rata % tepat waktu"),
    "daftar_izin": ("toStartOfMonth(diajukan)", "count()", "permohonan per bulan"),
    "insiden": ("toStartOfMonth(berakhir)", "count()", "insiden selesai per bulan"),
}
POINTS = 30


async def chart_series(portal: Portal, dataset: Dataset) -> tuple[str, list[tuple[str, float]]]:
    """The chart's label and its last POINTS (x, y) points."""
    x, y, label = CHARTS[dataset.kind]
    where = ""
    if dataset.kind == "indikator":
        first = dataset.indicators[0]
        where = f" WHERE kode_indikator = {literal(first)}"
        from schemas.sectors import INDICATORS

        label = label.format(indicator=INDICATORS[first].name, unit=INDICATORS[first].unit)
    rows = await portal.warehouse.lists(
        f"SELECT toString(x) AS x, y FROM (SELECT {x} AS x, {y} AS y FROM ({portal.sql(dataset)}){where} "
        f"GROUP BY x ORDER BY x DESC LIMIT {POINTS}) ORDER BY x")
    return label, [(str(px), float(py)) for px, py in rows if py is not None]


def chart_svg(label: str, points: list[tuple[str, float]], empty: str) -> str:
    """An accessible SVG bar chart of the points (with a text alternative)."""
    if not points:
        return f"<p>{escape(empty)}</p>"
    width, height, pad = 640, 240, 36
    top = max(p[1] for p in points) or 1.0
    step = (width - 2 * pad) / len(points)
    bars = []
    for i, (x, y) in enumerate(points):
        h = (height - 2 * pad) * y / top
        bars.append(
            f'<rect x="{pad + i * step + 1:.1f}" y="{height - pad - h:.1f}" width="{max(step - 2, 1):.1f}" '
            f'height="{h:.1f}"><title>{escape(x)}: {y:g}</title></rect>')
    first, last = escape(points[0][0][:10]), escape(points[-1][0][:10])
    summary = f"{label}: {len(points)} titik, {first} – {last}, tertinggi {top:g}"
    return (f'<figure class="chart"><svg viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{escape(summary)}" preserveAspectRatio="none">'
            f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" class="axis"/>'
            f'{"".join(bars)}'
            f'<text x="{pad}" y="{height - 10}" class="tick">{first}</text>'
            f'<text x="{width - pad}" y="{height - 10}" class="tick" text-anchor="end">{last}</text>'
            f'<text x="{pad}" y="20" class="tick">{top:g}</text></svg>'
            f"<figcaption>{escape(label)}</figcaption></figure>")
