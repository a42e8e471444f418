"""The DCAT catalogue of the publik datasets (DCAT-AP style), built with rdflib."""

from __future__ import annotations

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, XSD

from satudata.catalogue import FORMATS, LICENCES, Catalogue, Classification, group_name, group_title
from satudata.packages import CREATED, EXTENSIONS, MEDIA_TYPES, download_url
from satudata.portal import Coverage

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
FREQUENCY = Namespace("http://publications.europa.eu/resource/authority/frequency/")
FREQUENCIES = {"real-time": "CONT", "harian": "DAILY", "mingguan": "WEEKLY", "bulanan": "MONTHLY"}


def _date(value: str) -> Literal:
    return Literal(value[:10], datatype=XSD.date)


def catalogue_graph(found: Catalogue, base: str, coverage: dict[str, Coverage]) -> Graph:
    """The catalogue as an RDF graph: one dcat:Dataset per publik dataset, a dcat:Distribution per format."""
    graph = Graph()
    for prefix, namespace in (("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("vcard", VCARD)):
        graph.bind(prefix, namespace)
    catalog = URIRef(f"{base}/catalog")
    graph.add((catalog, RDF.type, DCAT.Catalog))
    graph.add((catalog, DCTERMS.title, Literal("Satu Data Provinsi Jambi", lang="id")))
    graph.add((catalog, DCTERMS.description, Literal(
        "Data terbuka Pemerintah Provinsi Jambi dari pusat komando Posko.", lang="id")))
    graph.add((catalog, DCTERMS.language, URIRef("http://publications.europa.eu/resource/authority/language/IND")))
    graph.add((catalog, FOAF.homepage, URIRef(f"{base}/")))
    publisher = URIRef(f"{base}/organization/pemerintah-provinsi-jambi")
    graph.add((publisher, RDF.type, FOAF.Organization))
    graph.add((publisher, FOAF.name, Literal(found.publisher)))
    graph.add((catalog, DCTERMS.publisher, publisher))
    for dataset in found.dataset:
        if dataset.classification is not Classification.PUBLIK:
            continue
        covered = coverage[dataset.name]
        node = URIRef(f"{base}/dataset/{dataset.name}")
        org = found.organization_of(dataset)
        agency = URIRef(f"{base}/organization/{org.name}")
        graph.add((catalog, DCAT.dataset, node))
        graph.add((node, RDF.type, DCAT.Dataset))
        graph.add((node, DCTERMS.identifier, Literal(dataset.id)))
        graph.add((node, DCTERMS.title, Literal(dataset.title, lang="id")))
        graph.add((node, DCTERMS.title, Literal(dataset.title_en, lang="en")))
        graph.add((node, DCTERMS.description, Literal(dataset.notes, lang="id")))
        graph.add((node, DCTERMS.description, Literal(dataset.notes_en, lang="en")))
        graph.add((agency, RDF.type, FOAF.Organization))
        graph.add((agency, FOAF.name, Literal(org.title)))
        graph.add((node, DCTERMS.publisher, agency))
        graph.add((node, DCTERMS.creator, agency))
        contact = BNode()
        graph.add((contact, RDF.type, VCARD.Organization))
        graph.add((contact, VCARD.fn, Literal(found.walidata)))
        graph.add((contact, VCARD.hasEmail, URIRef(f"mailto:{found.walidata_email}")))
        graph.add((node, DCAT.contactPoint, contact))
        graph.add((node, DCTERMS.accrualPeriodicity, FREQUENCY[FREQUENCIES[dataset.frequency]]))
        graph.add((node, DCAT.landingPage, URIRef(f"{base}/dataset/{dataset.name}")))
        graph.add((node, DCAT.theme, URIRef(f"{base}/group/{group_name(dataset.sector)}")))
        graph.add((URIRef(f"{base}/group/{group_name(dataset.sector)}"), DCTERMS.title,
                   Literal(group_title(dataset.sector), lang="id")))
        graph.add((node, DCTERMS.issued, Literal(CREATED[:10], datatype=XSD.date)))
        if covered.modified:
            graph.add((node, DCTERMS.modified, _date(covered.modified)))
        for tag in dataset.tags:
            graph.add((node, DCAT.keyword, Literal(tag, lang="id")))
        for code in covered.regions:
            place = BNode()
            graph.add((place, RDF.type, DCTERMS.Location))
            graph.add((place, DCTERMS.identifier, Literal(code)))
            graph.add((node, DCTERMS.spatial, place))
        if covered.start:
            period = BNode()
            graph.add((period, RDF.type, DCTERMS.PeriodOfTime))
            graph.add((period, DCAT.startDate, _date(covered.start)))
            graph.add((period, DCAT.endDate, _date(covered.end)))
            graph.add((node, DCTERMS.temporal, period))
        licence = URIRef(LICENCES[found.licence_of(dataset)][1])
        graph.add((node, DCTERMS.license, licence))
        graph.add((node, DCTERMS.conformsTo, URIRef(f"{base}/dataset/{dataset.name}/datapackage.json")))
        for fmt in FORMATS:
            dist = URIRef(f"{base}/dataset/{dataset.name}#{EXTENSIONS[fmt]}")
            graph.add((node, DCAT.distribution, dist))
            graph.add((dist, RDF.type, DCAT.Distribution))
            graph.add((dist, DCTERMS.title, Literal(f"{dataset.title} ({fmt})", lang="id")))
            graph.add((dist, DCAT.downloadURL, URIRef(download_url(base, dataset, fmt))))
            graph.add((dist, DCAT.accessURL, URIRef(f"{base}/dataset/{dataset.name}")))
            graph.add((dist, DCAT.mediaType, URIRef(
                f"https://www.iana.org/assignments/media-types/{MEDIA_TYPES[fmt]}")))
            graph.add((dist, DCTERMS.format, Literal(fmt)))
            graph.add((dist, DCTERMS.license, licence))
    return graph
