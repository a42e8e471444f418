"""A map of Jambi's kabupaten/kota as SVG, the incident's regions filled: for the sitrep's header."""

from __future__ import annotations

from html import escape

import shapely

from schemas.regions import REGION_NAMES, Region, boundaries

WIDTH = 480.0
_PAD = 6.0


def _rings(geometry: shapely.Geometry) -> list[list[tuple[float, float]]]:
    polygons = geometry.geoms if hasattr(geometry, "geoms") else [geometry]
    rings: list[list[tuple[float, float]]] = []
    for polygon in polygons:
        rings.append(list(polygon.exterior.coords))
        rings.extend(list(interior.coords) for interior in polygon.interiors)
    return rings


def region_map(highlighted: list[str]) -> str:
    """The province's kabupaten/kota as an SVG document, those in `highlighted` filled red."""
    found = boundaries()
    west, south, east, north = shapely.total_bounds(list(found.polygons))
    scale = (WIDTH - 2 * _PAD) / (east - west)
    height = (north - south) * scale + 2 * _PAD

    def point(lon: float, lat: float) -> str:
        # North up: SVG's y grows downwards.
        return f"{_PAD + (lon - west) * scale:.1f},{_PAD + (north - lat) * scale:.1f}"

    shapes, labels = [], []
    chosen = set(highlighted)
    for region, polygon in zip(found.regions, found.polygons, strict=True):
        path = " ".join("M" + " L".join(point(x, y) for x, y in ring) + " Z"
                        for ring in _rings(shapely.simplify(polygon, 0.003)))
        fill = "#d73027" if str(region) in chosen else "#eeeeee"
        shapes.append(f'<path d="{path}" fill="{fill}" stroke="#555555" stroke-width="0.8">'
                      f"<title>{escape(REGION_NAMES[Region(region)])}</title></path>")
        lat, lon = found.centroids[region]
        x, y = point(lon, lat).split(",")
        name = REGION_NAMES[Region(region)].removeprefix("Kabupaten ")
        weight = "bold" if str(region) in chosen else "normal"
        labels.append(f'<text x="{x}" y="{y}" font-size="9" font-family="sans-serif" '
                      f'font-weight="{weight}" text-anchor="middle" fill="#222222">{escape(name)}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH:.0f} {height:.0f}" '
            f'width="{WIDTH:.0f}" height="{height:.0f}" role="img" aria-label="Peta wilayah insiden">'
            + "".join(shapes) + "".join(labels) + "</svg>")
