"""The gateway's static pages by path: the wall, the console, the responder page, the briefing,
their files and the regions' boundaries."""

from __future__ import annotations

from importlib import resources

_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
# The pages people open, by path, and their file.
PAGES = {"/wall": "wall.html", "/console": "console.html", "/responder": "responder.html",
         "/briefing": "briefing.html"}


def pages() -> dict[str, tuple[str, bytes]]:
    """Content type and bytes by path: /wall, /console, /responder, /static/<file>, /regions.geojson."""
    found: dict[str, tuple[str, bytes]] = {}
    for file in resources.files("sinks.push").joinpath("pages").iterdir():
        suffix = "." + file.name.rsplit(".", 1)[-1]
        if suffix in _TYPES:
            found[f"/static/{file.name}"] = (_TYPES[suffix], file.read_bytes())
    for path, name in PAGES.items():
        found[path] = found[f"/static/{name}"]
    geojson = resources.files("schemas").joinpath("data/jambi_kabkota_15.geojson").read_bytes()
    found["/regions.geojson"] = ("application/geo+json", geojson)
    return found
