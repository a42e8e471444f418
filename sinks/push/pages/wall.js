// The command-room wall: live alerts (most severe, then newest, first), who acknowledged them,
// the map of the 11 kabupaten/kota and the last-hour counters, from the Posko push gateway.
"use strict";

(() => {
  const {t, el, wibTime, ago, SEVERITY_RANK} = Posko;
  const HOUR_MS = 3600 * 1000;
  const SHOWN = 60;
  const FLASH_MS = 9000;
  const FLASHING = new Set(["Extreme", "Severe"]);
  const KINDS = ["citizen_report", "disaster_alert", "permit_filing"];

  const state = {
    alerts: new Map(), acks: new Map(), counts: null, regions: {}, fresh: new Map(),
    link: "connecting", reason: "", notice: "", noticeUntil: 0, lastMessage: null,
  };
  window.poskoWall = state; // for people and tests inspecting a running wall
  let sound = localStorage.getItem("posko.sound") === "on";
  let pending = false;

  function addAck(ack) {
    const list = state.acks.get(ack.alert_id) || [];
    if (!list.some((a) => a.id === ack.id)) list.push(ack);
    state.acks.set(ack.alert_id, list);
  }

  function onMessage(m) {
    state.lastMessage = new Date();
    if (m.type === "snapshot") {
      state.alerts = new Map(m.alerts.map((a) => [a.id, a]));
      state.acks = new Map();
      m.acks.forEach(addAck);
      state.counts = m.counts;
      state.regions = m.regions;
    } else if (m.type === "alert") {
      const known = state.alerts.has(m.alert.id);
      state.alerts.set(m.alert.id, m.alert);
      if (!known) {
        state.fresh.set(m.alert.id, Date.now());
        if (FLASHING.has(m.alert.severity) && Date.now() - new Date(m.alert.occurred_at) < 15 * 60 * 1000) flash(m.alert);
      }
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
    return [...state.alerts.values()].sort((a, b) =>
      (SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity]) || (new Date(b.occurred_at) - new Date(a.occurred_at)));
  }

  function ackLine(acks) {
    if (!acks || !acks.length) return el("div", {class: "ack pending", text: t("notAcked")});
    const first = acks[0];
    const more = acks.length > 1 ? ` (+${acks.length - 1})` : "";
    const note = first.note ? ` — “${first.note}”` : "";
    return el("div", {class: "ack done"},
      el("span", {class: "ack-mark", text: "✔ "}),
      el("span", {text: `${t("acked")} ${t("by")} `}),
      el("b", {class: "ack-by", text: first.acked_by}),
      el("span", {text: ` · ${wibTime(first.acked_at)}${more}${note}`}));
  }

  function card(a) {
    const acks = state.acks.get(a.id);
    const isNew = state.fresh.has(a.id) && Date.now() - state.fresh.get(a.id) < 60000;
    return el("li", {class: `alert${acks ? " is-acked" : ""}${isNew ? " is-new" : ""}`, "data-alert-id": a.id,
                     "data-severity": a.severity},
      el("div", {class: "sev", text: t("severity")[a.severity] || a.severity}),
      el("div", {class: "body"},
        el("div", {class: "headline", text: a.headline}),
        el("div", {class: "meta"},
          el("span", {class: "where", text: regionName(a.region)}),
          el("span", {class: "kind", text: t("kind")[a.event_kind] || a.event_kind}),
          el("span", {class: "when", text: `${wibTime(a.occurred_at)} · ${ago(a.occurred_at)}`})),
        ackLine(acks)));
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
    const active = all.filter((a) => now - new Date(a.occurred_at) < HOUR_MS);
    const unacked = active.filter((a) => !state.acks.has(a.id));
    // Every alert of the hour from ClickHouse's counters once known; those held here until then.
    const counted = state.counts ? Object.values(state.counts.alerts).reduce((s, n) => s + n, 0) : 0;
    document.getElementById("n-active").textContent = Math.max(counted, active.length);
    document.getElementById("n-unacked").textContent = unacked.length;
    document.getElementById("n-severe").textContent = active.filter((a) => FLASHING.has(a.severity)).length;
    document.getElementById("alert-count").textContent = all.length ? `${Math.min(all.length, SHOWN)} / ${all.length}` : "";

    const list = document.getElementById("alerts");
    list.replaceChildren(...(all.length ? all.slice(0, SHOWN).map(card)
                                        : [el("li", {class: "empty", text: t("noAlerts")})]));

    const byRegion = {};
    for (const a of unacked) {
      if (!a.region) continue;
      const r = byRegion[a.region] || (byRegion[a.region] = {count: 0, worst: "Unknown"});
      r.count += 1;
      if (SEVERITY_RANK[a.severity] > SEVERITY_RANK[r.worst]) r.worst = a.severity;
    }
    PoskoMap.shade(byRegion);
    const newest = new Set([...state.fresh.entries()].filter(([, at]) => now - at < 60000).map(([id]) => id));
    PoskoMap.place(active, newest);
    renderLegend();
    renderCounts();

    const notice = document.getElementById("notice");
    notice.textContent = now < state.noticeUntil ? state.notice : "";
    document.getElementById("updated").textContent = state.lastMessage
      ? `${t("lastUpdate")} ${wibTime(state.lastMessage.toISOString(), true)}` : "";
  }

  function renderLegend() {
    const legend = document.getElementById("legend");
    legend.replaceChildren(...["Extreme", "Severe", "Moderate", "Minor"].map((s) =>
      el("span", {class: "legend-item", "data-severity": s}, el("i"), el("span", {text: t("severity")[s]}))));
  }

  function renderCounts() {
    const table = document.getElementById("counts");
    const counts = state.counts || {events: {}, alerts: {}};
    const head = el("tr", {}, el("th", {text: t("region")}),
      ...KINDS.map((k) => el("th", {text: t("kind")[k]})), el("th", {class: "alert-col", text: t("needResponse")}));
    const codes = Object.keys(state.regions).sort();
    const rows = codes.map((code) => {
      const events = counts.events[code] || {};
      const alerts = counts.alerts[code] || 0;
      return el("tr", {"data-region": code}, el("td", {class: "name", text: regionName(code)}),
        ...KINDS.map((k) => el("td", {class: "n", text: (events[k] || 0).toLocaleString("id-ID")})),
        el("td", {class: `n alert-col${alerts ? " hot" : ""}`, text: alerts.toLocaleString("id-ID")}));
    });
    const sum = (k) => Object.values(counts.events).reduce((s, e) => s + (e[k] || 0), 0);
    const total = el("tr", {class: "total"}, el("td", {class: "name", text: t("total")}),
      ...KINDS.map((k) => el("td", {class: "n", text: sum(k).toLocaleString("id-ID")})),
      el("td", {class: "n alert-col",
                text: Object.values(counts.alerts).reduce((s, n) => s + n, 0).toLocaleString("id-ID")}));
    table.replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows, total));
  }

  let flashTimer = null;
  function flash(a) {
    const box = document.getElementById("flash");
    box.dataset.severity = a.severity;
    document.getElementById("flash-kicker").textContent = `⚠ ${t("newAlert")} · ${t("severity")[a.severity]}`;
    document.getElementById("flash-headline").textContent = a.headline;
    document.getElementById("flash-where").textContent = `${regionName(a.region)} · ${wibTime(a.occurred_at)}`;
    box.hidden = false;
    clearTimeout(flashTimer);
    flashTimer = setTimeout(() => { box.hidden = true; }, FLASH_MS);
    if (sound) beep(a.severity === "Extreme" ? 3 : 2);
  }

  let audio = null;
  function beep(times) {
    audio = audio || new AudioContext();
    for (let i = 0; i < times; i++) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = i % 2 ? 660 : 880;
      gain.gain.value = 0.2;
      osc.connect(gain).connect(audio.destination);
      osc.start(audio.currentTime + i * 0.35);
      osc.stop(audio.currentTime + i * 0.35 + 0.25);
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
  document.getElementById("flash").onclick = () => { document.getElementById("flash").hidden = true; };

  Posko.setLang(Posko.lang());
  tick();
  setInterval(tick, 1000);
  setInterval(schedule, 15000); // "n min ago" and the one-hour window move on
  PoskoMap.draw(document.getElementById("map")).then(schedule);
  const token = Posko.token("wall");
  if (!token) { Posko.askToken("wall"); render(); return; }
  new Posko.Link(token, onMessage, onState).connect();
  render();
})();
