// The offline map of Jambi's 11 kabupaten/kota, drawn as SVG from the bundled boundaries
// (served by the gateway at /regions.geojson): no tile server, works in a room without internet.
"use strict";

const PoskoMap = (() => {
  const SVG = "http://www.w3.org/2000/svg";
  let project = null;
  let unitsPerKm = 1;
  const shapes = {};
  const labels = {};
  let markers = null;
  // Kota Jambi lies inside Muaro Jambi and Sungai Penuh inside Kerinci: move their labels apart.
  const LABEL_SHIFT = {"15.71": [40, -70], "15.05": [-40, 40], "15.72": [-70, 40], "15.01": [30, -40]};

  function node(tag, attrs) {
    const n = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    return n;
  }

  function rings(geometry) {
    if (geometry.type === "Polygon") return geometry.coordinates;
    if (geometry.type === "MultiPolygon") return geometry.coordinates.flat();
    return [];
  }

  async function draw(svg) {
    const data = await (await fetch("/regions.geojson")).json();
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    for (const f of data.features) for (const ring of rings(f.geometry)) for (const [x, y] of ring) {
      minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y);
    }
    const scale = 1000 / (maxX - minX);
    unitsPerKm = scale / 111.32;
    const width = 1000, height = (maxY - minY) * scale;
    project = (lon, lat) => [(lon - minX) * scale, (maxY - lat) * scale];
    svg.setAttribute("viewBox", `-10 -10 ${width + 20} ${height + 20}`);
    const regionLayer = node("g", {class: "regions"});
    const labelLayer = node("g", {class: "labels"});
    markers = node("g", {class: "markers"});
    for (const f of data.features) {
      const code = f.properties.kode;
      const d = rings(f.geometry).map((ring) => "M" + ring.map(([x, y]) => project(x, y).map((v) => v.toFixed(1)).join(",")).join("L") + "Z").join("");
      const path = node("path", {d, class: "region", "data-region": code});
      regionLayer.append(path);
      shapes[code] = path;
      const [px, py] = project(f.properties.centroid_lng, f.properties.centroid_lat);
      const [dx, dy] = LABEL_SHIFT[code] || [0, 0];
      const [cx, cy] = [px + dx, py + dy];
      const label = node("g", {class: "label", transform: `translate(${cx.toFixed(1)},${cy.toFixed(1)})`});
      const name = node("text", {class: "label-name", y: "0"});
      name.textContent = f.properties.nama;
      const count = node("text", {class: "label-count", y: "30"});
      label.append(name, count);
      labelLayer.append(label);
      labels[code] = count;
    }
    svg.append(regionLayer, markers, labelLayer);
  }

  /** Shade each region by its most severe unacknowledged alert; label it with its active count. */
  function shade(byRegion) {
    for (const [code, path] of Object.entries(shapes)) {
      const found = byRegion[code];
      path.dataset.severity = found ? found.worst : "none";
      labels[code].textContent = found ? `${found.count}` : "";
    }
  }

  function place(alerts, newest) {
    if (!markers || !project) return;
    markers.replaceChildren();
    for (const a of alerts) {
      if (!a.location) continue;
      const [x, y] = project(a.location.lon, a.location.lat);
      const dot = node("circle", {cx: x.toFixed(1), cy: y.toFixed(1), r: "9", class: "marker",
                                  "data-severity": a.severity, "data-alert-id": a.id});
      if (newest.has(a.id)) dot.classList.add("pulse");
      markers.append(dot);
    }
  }

  /** Shade each region by the highest priority of its open incidents; label it with their count. */
  function shadeIncidents(byRegion) {
    for (const [code, path] of Object.entries(shapes)) {
      const found = byRegion[code];
      delete path.dataset.severity;
      path.dataset.priority = found ? found.worst : "none";
      labels[code].textContent = found ? `${found.count}` : "";
    }
  }

  /** Each incident's centre, and its extent as a circle of its radius. */
  function placeIncidents(incidents, newest) {
    if (!markers || !project) return;
    markers.replaceChildren();
    for (const i of incidents) {
      if (!i.centre) continue;
      const [x, y] = project(i.centre.lon, i.centre.lat);
      const attrs = {cx: x.toFixed(1), cy: y.toFixed(1), "data-priority": i.priority, "data-incident-id": i.id};
      if (i.radius_km) markers.append(node("circle", {...attrs, r: (i.radius_km * unitsPerKm).toFixed(1), class: "extent"}));
      const dot = node("circle", {...attrs, r: "11", class: "marker"});
      if (newest.has(i.id)) dot.classList.add("pulse");
      markers.append(dot);
    }
  }

  /** Outline each region under an emergency status (siaga, tanggap, transisi darurat) in its colour. */
  function markEmergencies(byRegion) {
    for (const [code, path] of Object.entries(shapes)) {
      if (byRegion[code]) path.dataset.emergency = byRegion[code];
      else delete path.dataset.emergency;
    }
  }

  return {draw, shade, place, shadeIncidents, placeIncidents, markEmergencies};
})();
