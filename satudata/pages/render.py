"""The pages as HTML: search with facets, a dataset, the API; Bahasa Indonesia first, English on a switch."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import urlencode

from satudata.catalogue import FORMATS
from satudata.packages import EXTENSIONS
from satudata.pages.text import FREQUENCY_LABELS, words

FACETS = ("groups", "organization", "kode_wilayah", "res_format")
PAGE_ROWS = 10


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def link(path: str, lang: str, **params: Any) -> str:
    """A portal path with its query, keeping the language."""
    query = {k: v for k, v in params.items() if v not in (None, "", [])}
    if lang == "en":
        query["lang"] = "en"
    return path + ("?" + urlencode(query, doseq=True) if query else "")


def layout(lang: str, title: str, body: str, switch_to: str) -> str:
    """A whole page around `body`."""
    w = words(lang)
    return f"""<!doctype html>
<html lang="{_e(lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)} · {_e(w['site'])}</title>
<link rel="stylesheet" href="/static/satudata.css">
<link rel="alternate" type="application/ld+json" href="/catalog.jsonld" title="DCAT">
</head>
<body>
<a class="skip" href="#isi">{_e(w['skip'])}</a>
<header class="top">
  <a class="brand" href="{_e(link('/', lang))}">{_e(w['site'])}</a>
  <nav aria-label="utama">
    <a href="{_e(link('/', lang))}">{_e(w['home'])}</a>
    <a href="{_e(link('/api', lang))}">{_e(w['api'])}</a>
    <a href="/catalog.ttl">{_e(w['catalogue'])}</a>
    <a class="lang" id="lang-switch" href="{_e(switch_to)}"
       lang="{'id' if lang == 'en' else 'en'}">{_e(w['switch'])}</a>
  </nav>
</header>
<main id="isi" tabindex="-1">
{body}
</main>
<footer><p>{_e(w['tagline'])}</p></footer>
</body>
</html>
"""


def _title(package: dict[str, Any], lang: str) -> str:
    return str(package["title_en"] if lang == "en" else package["title"])


def _notes(package: dict[str, Any], lang: str) -> str:
    return str(package["notes_en"] if lang == "en" else package["notes"])


def search_page(lang: str, result: dict[str, Any], q: str, chosen: dict[str, list[str]], page: int) -> str:
    """The search page: the box, the facets and a page of results."""
    w = words(lang)
    state = {"q": q, **chosen}
    facets = []
    for field in FACETS:
        items = result["search_facets"].get(field, {}).get("items", [])
        entries = []
        for item in items:
            picked = item["name"] in chosen.get(field, [])
            values = [v for v in chosen.get(field, []) if v != item["name"]] if picked \
                else [*chosen.get(field, []), item["name"]]
            href = link("/", lang, **{**state, field: values})
            entries.append(
                f'<li><a href="{_e(href)}" data-facet="{_e(field)}" data-value="{_e(item["name"])}"'
                f'{" aria-current=true class=picked" if picked else ""}>{_e(item["display_name"])} '
                f'<span class="count">{item["count"]}</span></a></li>')
        facets.append(f'<section class="facet"><h3>{_e(w[field])}</h3><ul>{"".join(entries)}</ul></section>')
    cards = []
    for package in result["results"]:
        formats = " ".join(f'<span class="format">{_e(r["format"])}</span>' for r in package["resources"])
        cards.append(f"""<li class="dataset-card">
  <h3><a href="{_e(link('/dataset/' + package['name'], lang))}">{_e(_title(package, lang))}</a></h3>
  <p class="meta">{_e(package['organization']['title'])} · {_e(package['groups'][0]['title'])}</p>
  <p>{_e(_notes(package, lang))}</p>
  <p class="formats">{formats}</p>
</li>""")
    count = result["count"]
    pages = max(1, -(-count // PAGE_ROWS))
    nav = []
    if page > 1:
        nav.append(f'<a rel="prev" href="{_e(link("/", lang, **state, page=page - 1))}">{_e(w["prev"])}</a>')
    nav.append(f"<span>{_e(w['page'].format(page=page, pages=pages))}</span>")
    if page < pages:
        nav.append(f'<a rel="next" href="{_e(link("/", lang, **state, page=page + 1))}">{_e(w["next"])}</a>')
    filtered = any(chosen.values()) or q
    clear = f'<p><a href="{_e(link("/", lang))}">{_e(w["clear"])}</a></p>' if filtered else ""
    listing = f'<ol class="results">{"".join(cards)}</ol>' if cards else f"<p>{_e(w['none'])}</p>"
    return f"""<h1>{_e(w['site'])}</h1>
<p class="tagline">{_e(w['tagline'])}</p>
<form class="search" role="search" action="/" method="get">
  <label for="q">{_e(w['search_label'])}</label>
  <input id="q" name="q" type="search" value="{_e(q)}" placeholder="{_e(w['search'])}">
  {''.join(f'<input type="hidden" name="{_e(k)}" value="{_e(v)}">' for k, vs in chosen.items() for v in vs)}
  {'<input type="hidden" name="lang" value="en">' if lang == 'en' else ''}
  <button type="submit">{_e(w['search_button'])}</button>
</form>
<div class="columns">
  <aside class="facets" aria-label="{_e(w['filters'])}"><h2>{_e(w['filters'])}</h2>
    {''.join(facets)}{clear}</aside>
  <section class="listing" aria-live="polite">
    <h2 id="found">{_e(w['found'].format(n=count))}</h2>
    {listing}
    <nav class="pages" aria-label="halaman">{' '.join(nav)}</nav>
  </section>
</div>"""


def dataset_page(lang: str, package: dict[str, Any], preview: dict[str, Any] | None, chart: str,
                 suppresses: bool) -> str:
    """A dataset's page: metadata, dictionary, preview table, chart and downloads."""
    w = words(lang)
    frequency = FREQUENCY_LABELS.get(lang, {}).get(package["frekuensi"], package["frekuensi"])
    period = f"{package['periode_awal']} – {package['periode_akhir']}" if package["periode_awal"] else "–"
    meta = [(w["classification"], package["klasifikasi"]), (w["producer"], package["produsen_data"]),
            (w["walidata"], package["walidata"]), (w["frequency"], frequency), (w["period"], period),
            (w["regions"], package["kode_wilayah"].replace(",", ", ")),
            (w["units"], package["satuan"] or "–"),
            (w["licence"], package["license_title"]), (w["rows"], package["jumlah_baris"]),
            (w["status"], package["status_data"])]
    meta_html = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in meta)
    downloads = "".join(
        f'<a class="button" data-format="{_e(fmt)}" download href="{_e(_download(package, fmt))}">'
        f'{_e(w["download_as"].format(fmt=fmt))}</a>' for fmt in FORMATS)
    dictionary = "".join(
        f"<tr><th scope=row><code>{_e(f['id'])}</code></th><td>{_e(f['info']['label'])}</td>"
        f"<td>{_e(f['type'])}</td><td>{_e(f['info']['unit'])}</td><td>{_e(f['info']['notes'])}</td></tr>"
        for f in package["data_dictionary"])
    if preview is None:
        table = f'<p class="notice" role="status">{_e(w["not_yet"])}</p>'
    else:
        names = [f["id"] for f in preview["fields"]]
        head = "".join(f"<th scope=col>{_e(n)}</th>" for n in names)
        body = "".join("<tr>" + "".join(f"<td>{_e('' if r.get(n) is None else r.get(n))}</td>" for n in names)
                       + "</tr>" for r in preview["records"])
        note = w["preview_note"].format(shown=len(preview["records"]), total=preview.get("total", "?"))
        table = (f'<div class="scroll" tabindex="0" role="region" aria-label="{_e(w["preview"])}">'
                 f'<table id="preview"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'
                 f"<p class=note>{_e(note)}</p>")
    suppressed = ""
    if suppresses:
        suppressed = f'<p class="note">{_e(w["suppressed"].format(n=package["ambang_sensor"]))}</p>'
    return f"""<nav class="crumbs" aria-label="jejak"><a href="{_e(link('/', lang))}">{_e(w['home'])}</a> ›
  <a href="{_e(link('/', lang, organization=package['organization']['name']))}">
  {_e(package['organization']['title'])}</a></nav>
<h1>{_e(_title(package, lang))}</h1>
<p class="lead">{_e(_notes(package, lang))}</p>
<section aria-labelledby="unduh"><h2 id="unduh">{_e(w['download'])}</h2>
  <p class="downloads">{downloads}</p>
  <p><a href="{_e(package['datapackage_url'])}">{_e(w['datapackage'])}</a></p></section>
<section aria-labelledby="pratinjau"><h2 id="pratinjau">{_e(w['preview'])}</h2>{table}{suppressed}</section>
<section aria-labelledby="grafik"><h2 id="grafik">{_e(w['chart'])}</h2>{chart}</section>
<section aria-labelledby="metadata"><h2 id="metadata">{_e(w['metadata'])}</h2>
<dl class="meta">{meta_html}</dl></section>
<section aria-labelledby="kamus"><h2 id="kamus">{_e(w['dictionary'])}</h2>
<div class="scroll" tabindex="0" role="region" aria-label="{_e(w['dictionary'])}"><table>
<thead><tr><th scope=col>{_e(w['column'])}</th><th scope=col>{_e(w['label'])}</th>
<th scope=col>{_e(w['type'])}</th>
<th scope=col>{_e(w['unit'])}</th><th scope=col>{_e(w['description'])}</th></tr></thead>
<tbody>{dictionary}</tbody></table></div></section>"""


def _download(package: dict[str, Any], fmt: str) -> str:
    return f"/dataset/{package['name']}/download/{package['name']}.{EXTENSIONS[fmt]}"


def api_page(lang: str, base: str, example: str) -> str:
    """The API page: the actions, examples and the standard descriptions."""
    w = words(lang)
    actions = [
        ("package_list", ""), ("package_search", "q=harga&fq=groups:kebencanaan&rows=10&start=0&sort=name asc"
                                                 "&facet.field=[\"organization\",\"groups\"]"),
        ("package_show", f"id={example}"), ("organization_list", "all_fields=true"),
        ("group_list", "all_fields=true"), ("resource_show", "id=<resource id>"),
        ("datastore_search", f"resource_id={example}&limit=5&filters={{\"kode_wilayah\":\"15.71\"}}"),
    ]
    rows = "".join(f"<li><code>{_e(name)}</code>: <a href=\"{_e(f'/api/3/action/{name}?{query}')}\">"
                   f"<code>/api/3/action/{_e(name)}{'?' + _e(query) if query else ''}</code></a></li>"
                   for name, query in actions)
    return f"""<h1>{_e(w['api_title'])}</h1>
<p>{_e(w['api_intro'])}</p>
<h2>{_e(w['api_actions'])}</h2><ul class="api">{rows}</ul>
<h2>{_e(w['api_examples'])}</h2>
<pre><code>from ckanapi import RemoteCKAN
portal = RemoteCKAN("{_e(base)}")
portal.action.package_search(q="harga", rows=5)
portal.action.datastore_search(resource_id="{_e(example)}", limit=100)</code></pre>
<pre><code>curl '{_e(base)}/api/3/action/package_show?id={_e(example)}'</code></pre>
<h2>{_e(w['api_standards'])}</h2>
<ul><li><a href="/catalog.jsonld">/catalog.jsonld</a> · <a href="/catalog.ttl">/catalog.ttl</a> (DCAT)</li>
<li><code>/dataset/&lt;nama&gt;/datapackage.json</code> (Frictionless Data Package)</li>
<li><code>/dataset/&lt;nama&gt;/download/&lt;nama&gt;.csv|json|geojson|parquet</code></li></ul>"""


def message_page(lang: str, title: str, text: str) -> str:
    """A short page saying what went wrong and where to go."""
    home = f'<a href="{_e(link("/", lang))}">{_e(words(lang)["home"])}</a>'
    return f"<h1>{_e(title)}</h1><p>{_e(text)}</p><p>{home}</p>"
