// The command-room wall: open incidents by priority (Segera first), each opening into its
// signals; escalations; the map of the 11 kabupaten/kota with the incidents' extent; and the
// last-hour counters, from the Posko push gateway; each incident's task progress, the regions
// under an emergency status, drills (LATIHAN) marked and hidden at a toggle. Alerts are kept
// (window.poskoWall.alerts) but not listed: the room works on incidents.
"use strict";

(() => {
  const {t, el, wibTime, ago, late, byPriority, progress, progressText} = Posko;
  const SHOWN = 14;
  const FLASH_MS = 9000;
  // The flash and the sound: only for an incident that is new or raised to Segera or Tinggi.
  const FLASHING = new Set(["segera", "tinggi"]);
  const FRESH_MS = 15 * 60 * 1000;
  const KINDS = ["citizen_report", "disaster_alert", "permit_filing"];

  const state = {
    incidents: new Map(), incidentAcks: new Map(), escalations: [], opened: null,
    alerts: new Map(), acks: new Map(), counts: null, regions: {}, fresh: new Map(),
    link: "connecting", reason: "", notice: "", noticeUntil: 0, lastMessage: null, flashes: [],
    tasks: new Map(), emergencies: new Map(), hideDrills: localStorage.getItem("posko.hideDrills") === "yes",
  };
  window.poskoWall = state; // for people and tests inspecting a running wall
  let sound = localStorage.getItem("posko.sound") === "on";
  let pending = false;

  function addAck(ack) {
    const list = state.acks.get(ack.alert_id) || [];
    if (!list.some((a) => a.id === ack.id)) list.push(ack);
    state.acks.set(ack.alert_id, list);
  }

  function addEscalation(e) {
    if (state.escalations.some((x) => x.id === e.id)) return;
    state.escalations.unshift(e);
    state.escalations.sort((a, b) => new Date(b.fired_at) - new Date(a.fired_at));
    state.escalations.length = Math.min(state.escalations.length, 30);
  }

  function onIncident(incident) {
    const known = state.incidents.get(incident.id);
    if (known && known.version >= incident.version) return;
    if (incident.status === "selesai") {
      state.incidents.delete(incident.id);
      return;
    }
    state.incidents.set(incident.id, incident);
    state.fresh.set(incident.id, Date.now());
    if (incident.raised && FLASHING.has(incident.priority)
        && Date.now() - new Date(incident.updated_at) < FRESH_MS) flash(incident, !known);
  }

  function onMessage(m) {
    state.lastMessage = new Date();
    if (m.type === "snapshot") {
      state.incidents = new Map((m.incidents || []).map((i) => [i.id, i]));
      state.incidentAcks = new Map((m.incident_acks || []).map((a) => [a.incident_id, a]));
      state.escalations = [];
      (m.escalations || []).forEach(addEscalation);
      state.alerts = new Map(m.alerts.map((a) => [a.id, a]));
      state.acks = new Map();
      m.acks.forEach(addAck);
      state.counts = m.counts;
      state.regions = m.regions;
      state.tasks = new Map((m.tasks || []).map((x) => [x.id, x]));
      state.emergencies = new Map((m.emergencies || []).map((e) => [e.region, e]));
    } else if (m.type === "task") {
      const known = state.tasks.get(m.task.id);
      if (!known || known.version < m.task.version) state.tasks.set(m.task.id, m.task);
    } else if (m.type === "emergency") {
      if (m.emergency.status === "normal") state.emergencies.delete(m.emergency.region);
      else state.emergencies.set(m.emergency.region, m.emergency);
    } else if (m.type === "incident") {
      onIncident(m.incident);
    } else if (m.type === "incident_ack") {
      state.incidentAcks.set(m.ack.incident_id, m.ack);
    } else if (m.type === "escalation") {
      addEscalation(m.escalation);
    } else if (m.type === "alert") {
      state.alerts.set(m.alert.id, m.alert);
    } else if (m.type === "ack") {
      addAck(m.ack);
    } else if (m.type === "counts") {
      state.counts = m.counts;
    } else if (m.type === "gap") {
      const missed = m.missed === null ? t("gapUnknown") : `${m.missed} ${t("gap")}`;
      state.notice = `⚠ ${missed}`;
      state.noticeUntil = Date.now() + 60000;
    }
    schedule();
  }

  function onState(link, reason) {
    state.link = link;
    state.reason = reason || "";
    if (link === "refused") Posko.askToken("wall", reason);
    schedule();
  }

  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; render(); });
  }

  // "Kabupaten Muaro Jambi" → "Muaro Jambi"; the cities keep "Kota", which tells them apart.
  function regionName(code) {
    return code ? (state.regions[code] || code).replace(/^Kabupaten /, "") : t("outside");
  }

  function sorted() {
    return [...state.incidents.values()].filter((i) => !(state.hideDrills && i.drill)).sort(byPriority);
  }

  function tasksOf(i) {
    return [...state.tasks.values()].filter((x) => x.incident_id === i.id);
  }

  // Who took it on: the correlator's word (acked_by on the incident) or the ack just made.
  function ackOf(i) {
    const ack = state.incidentAcks.get(i.id);
    if (ack && (!i.acked_at || new Date(ack.acked_at) >= new Date(i.acked_at))) return {by: ack.acked_by, at: ack.acked_at, status: ack.status};
    if (i.acked_by) return {by: i.acked_by, at: i.acked_at, status: i.status};
    return null;
  }

  function ackLine(i) {
    const ack = ackOf(i);
    if (!ack) return el("div", {class: "ack pending", text: t("notAcked")});
    return el("div", {class: "ack done"},
      el("span", {class: "ack-mark", text: "✔ "}),
      el("span", {text: `${t("acked")} ${t("by")} `}),
      el("b", {class: "ack-by", text: ack.by}),
      el("span", {text: ack.at ? ` · ${wibTime(ack.at)}` : ""}));
  }

  function where(i) {
    const names = (i.regions || []).map(regionName).join(" · ") || t("outside");
    const kec = (i.kecamatan || []).length;
    return kec ? `${names} (${kec} ${t("kecamatan")})` : names;
  }

  function itemRow(item) {
    return el("li", {class: "item", "data-kind": item.kind, "data-item-id": item.id},
      el("span", {class: "item-kind", text: t("signalKind")[item.kind] || item.kind}),
      el("span", {class: "item-headline", text: item.headline}),
      (item.count || 1) > 1 ? el("span", {class: "item-count", text: `×${item.count}`}) : null,
      item.victims ? el("span", {class: "item-victims", text: "⚠"}) : null,
      el("span", {class: "item-where", text: regionName(item.region)}),
      el("span", {class: "item-when", text: wibTime(item.last_at)}));
  }

  function card(i) {
    const isNew = state.fresh.has(i.id) && Date.now() - state.fresh.get(i.id) < 60000;
    const opened = state.opened === i.id;
    const acked = ackOf(i) !== null;
    const status = (ackOf(i) || {}).status || i.status;
    const tasks = progress(tasksOf(i));
    const node = el("li", {class: `incident${acked ? " is-acked" : ""}${isNew ? " is-new" : ""}${opened ? " is-open" : ""}`,
                           "data-incident-id": i.id, "data-priority": i.priority},
      el("div", {class: "prio"}, el("span", {text: t("priority")[i.priority] || i.priority}),
        i.victims ? el("span", {class: "victims", text: `⚠ ${t("victims")}`}) : null),
      el("div", {class: "body"},
        el("div", {class: "title-line"},
          i.drill ? el("span", {class: "drill", text: t("drill")}) : null,
          el("span", {class: "hazard", text: t("hazard")[i.hazard] || i.hazard}),
          el("span", {class: "title", text: i.title})),
        el("div", {class: "meta"},
          el("span", {class: "where", text: where(i)}),
          el("span", {class: "n-signals", text: `${i.signal_count} ${t("signals")} · ${i.report_count || 0} ${t("reports")}`})),
        el("div", {class: "meta"},
          el("span", {class: "when", text: `${t("lastSignal")} ${wibTime(i.last_at)} · ${ago(i.last_at)}`}),
          el("span", {class: "status", "data-status": status, text: t("status")[status] || status})),
        ackLine(i),
        tasks.total ? el("div", {class: `task-progress${tasks.overdue ? " has-overdue" : ""}`,
                                 text: `${t("tasks")}: ${progressText(tasks)}`}) : null,
        opened ? el("div", {class: "items-box"},
          el("div", {class: "items-head", text: `${t("signalsOf")} (${i.items.length})`}),
          el("ol", {class: "items"}, ...i.items.slice().sort((a, b) => new Date(b.last_at) - new Date(a.last_at)).map(itemRow)))
          : null));
    node.onclick = () => { state.opened = opened ? null : i.id; render(); };
    return node;
  }

  function escalationRow(e) {
    return el("li", {class: "escalation", "data-escalation-id": e.id, "data-priority": e.priority || "none"},
      el("div", {class: "esc-to", text: `${t("escalatedTo")} ${e.role}: ${e.headline}`}),
      el("div", {class: "esc-why", text: `${e.reason} · ${t("level")} ${e.level} · ${wibTime(e.fired_at)}`}));
  }

  function overdueRow(e) {
    return el("li", {class: "overdue-report", "data-tracking": e.subject_id},
      el("div", {class: "od-what", text: `${e.subject_id} · ${e.headline}`}),
      el("div", {class: "od-late", text: `${t("lateBy")} ${late(e.due_at)} · ${e.role} · ${t("deadline")} ${wibTime(e.due_at)}`}));
  }

  function emergencyRow(e) {
    return el("li", {class: "emergency", "data-region": e.region, "data-emergency": e.status},
      el("span", {class: "em-region", text: regionName(e.region)}),
      el("span", {class: "em-status", text: t("emergency")[e.status] || e.status}),
      e.drill ? el("span", {class: "drill", text: t("drill")}) : null,
      el("span", {class: "em-decree", text: `${e.decree ? `${t("decree")} ${e.decree} · ` : ""}${wibTime(e.decided_at)}`}));
  }

  function render() {
    document.querySelectorAll("[data-i18n]").forEach((n) => { n.textContent = t(n.dataset.i18n); });
    document.getElementById("lang").textContent = Posko.lang() === "id" ? "EN" : "ID";
    document.getElementById("sound").textContent = `${t("sound")}: ${sound ? t("on") : t("off")}`;
    const linkNode = document.getElementById("link-state");
    linkNode.dataset.state = state.link;
    document.getElementById("link-text").textContent = t(state.link);

    const all = sorted();
    const now = Date.now();
    document.getElementById("n-open").textContent = all.length;
    document.getElementById("n-unacked").textContent = all.filter((i) => !ackOf(i)).length;
    document.getElementById("n-urgent").textContent = all.filter((i) => FLASHING.has(i.priority)).length;
    document.getElementById("incident-count").textContent = all.length > SHOWN ? `${SHOWN} / ${all.length}` : `${all.length}`;

    const list = document.getElementById("incidents");
    const shown = all.slice(0, SHOWN);
    if (state.opened && !shown.some((i) => i.id === state.opened) && state.incidents.has(state.opened)) {
      shown[shown.length - 1] = state.incidents.get(state.opened);
    }
    list.replaceChildren(...(shown.length ? shown.map(card) : [el("li", {class: "empty", text: t("noIncidents")})]));

    // Incidents nobody took on; citizen reports past their SLA (LAPOR!) in a list of their own.
    const stepped = state.escalations.filter((e) => e.subject !== "report_sla");
    const overdue = state.escalations.filter((e) => e.subject === "report_sla")
      .sort((a, b) => new Date(a.due_at) - new Date(b.due_at));
    const escalations = document.getElementById("escalations");
    document.getElementById("escalation-count").textContent = stepped.length || "";
    document.getElementById("escalations-panel").classList.toggle("has-escalations", stepped.length > 0);
    escalations.replaceChildren(...(stepped.length ? stepped.slice(0, 3).map(escalationRow)
                                                   : [el("li", {class: "empty", text: t("noEscalations")})]));
    document.getElementById("overdue-count").textContent = overdue.length || "";
    document.getElementById("overdue").replaceChildren(...(overdue.length ? overdue.slice(0, 4).map(overdueRow)
                                                       : [el("li", {class: "empty", text: t("noOverdue")})]));

    const byRegion = {};
    for (const i of all) {
      for (const code of i.regions || []) {
        const r = byRegion[code] || (byRegion[code] = {count: 0, worst: i.priority});
        r.count += 1;
        if (Posko.PRIORITY_RANK[i.priority] < Posko.PRIORITY_RANK[r.worst]) r.worst = i.priority;
      }
    }
    PoskoMap.shadeIncidents(byRegion);
    const emergencies = [...state.emergencies.values()].filter((e) => !(state.hideDrills && e.drill))
      .sort((a, b) => a.region.localeCompare(b.region));
    PoskoMap.markEmergencies(Object.fromEntries(emergencies.map((e) => [e.region, e.status])));
    document.getElementById("emergencies").replaceChildren(...(emergencies.length ? emergencies.map(emergencyRow)
      : [el("li", {class: "empty", text: t("noEmergencies")})]));
    document.getElementById("drills").textContent = state.hideDrills ? t("showDrills") : t("hideDrills");
    const newest = new Set([...state.fresh.entries()].filter(([, at]) => now - at < 60000).map(([id]) => id));
    PoskoMap.placeIncidents(all, newest);
    renderLegend();
    renderCounts(byRegion);

    const notice = document.getElementById("notice");
    notice.textContent = now < state.noticeUntil ? state.notice : "";
    document.getElementById("updated").textContent = state.lastMessage
      ? `${t("lastUpdate")} ${wibTime(state.lastMessage.toISOString(), true)}` : "";
  }

  function renderLegend() {
    const legend = document.getElementById("legend");
    legend.replaceChildren(...["segera", "tinggi", "sedang", "rendah"].map((p) =>
      el("span", {class: "legend-item", "data-priority": p}, el("i"), el("span", {text: t("priority")[p]}))));
  }

  function renderCounts(byRegion) {
    const table = document.getElementById("counts");
    const counts = state.counts || {events: {}, alerts: {}};
    const head = el("tr", {}, el("th", {text: t("region")}),
      ...KINDS.map((k) => el("th", {text: t("kind")[k]})), el("th", {class: "open-col", text: t("openCol")}));
    const codes = Object.keys(state.regions).sort();
    const rows = codes.map((code) => {
      const events = counts.events[code] || {};
      const open = (byRegion[code] || {count: 0}).count;
      return el("tr", {"data-region": code}, el("td", {class: "name", text: regionName(code)}),
        ...KINDS.map((k) => el("td", {class: "n", text: (events[k] || 0).toLocaleString("id-ID")})),
        el("td", {class: `n open-col${open ? " hot" : ""}`, text: open.toLocaleString("id-ID")}));
    });
    const sum = (k) => Object.values(counts.events).reduce((s, e) => s + (e[k] || 0), 0);
    const total = el("tr", {class: "total"}, el("td", {class: "name", text: t("total")}),
      ...KINDS.map((k) => el("td", {class: "n", text: sum(k).toLocaleString("id-ID")})),
      el("td", {class: "n open-col", text: state.incidents.size.toLocaleString("id-ID")}));
    table.replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows, total));
  }

  let flashTimer = null;
  function flash(i, isNew) {
    state.flashes.push(i.id); // which incidents flashed, for people and tests
    const box = document.getElementById("flash");
    box.dataset.priority = i.priority;
    document.getElementById("flash-kicker").textContent =
      `⚠ ${isNew ? t("newIncident") : t("raisedIncident")} · ${t("priority")[i.priority]}`;
    document.getElementById("flash-headline").textContent = i.title;
    document.getElementById("flash-where").textContent =
      `${where(i)} · ${i.signal_count} ${t("signals")} · ${wibTime(i.last_at)}`;
    box.hidden = false;
    clearTimeout(flashTimer);
    flashTimer = setTimeout(() => { box.hidden = true; }, FLASH_MS);
    if (sound) beep(i.priority === "segera" ? 3 : 2);
  }

  let audio = null;
  function beep(times) {
    audio = audio || new AudioContext();
    for (let n = 0; n < times; n++) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = n % 2 ? 660 : 880;
      gain.gain.value = 0.2;
      osc.connect(gain).connect(audio.destination);
      osc.start(audio.currentTime + n * 0.35);
      osc.stop(audio.currentTime + n * 0.35 + 0.25);
    }
  }

  function tick() {
    const now = new Date();
    document.getElementById("clock").textContent = wibTime(now.toISOString(), true);
    document.getElementById("date").textContent = Posko.wibDate(now);
  }

  document.getElementById("lang").onclick = () => { Posko.setLang(Posko.lang() === "id" ? "en" : "id"); tick(); render(); };
  document.getElementById("sound").onclick = () => {
    sound = !sound;
    localStorage.setItem("posko.sound", sound ? "on" : "off");
    if (sound) beep(1);
    render();
  };
  document.getElementById("drills").onclick = () => {
    state.hideDrills = !state.hideDrills;
    localStorage.setItem("posko.hideDrills", state.hideDrills ? "yes" : "no");
    render();
  };
  document.getElementById("flash").onclick = () => { document.getElementById("flash").hidden = true; };

  Posko.setLang(Posko.lang());
  tick();
  setInterval(tick, 1000);
  setInterval(schedule, 15000); // "n min ago" moves on
  PoskoMap.draw(document.getElementById("map")).then(schedule);
  const token = Posko.token("wall");
  if (!token) { Posko.askToken("wall"); render(); return; }
  new Posko.Link(token, onMessage, onState).connect();
  render();
})();
