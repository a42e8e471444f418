// The responder's phone page (an agency account's too): their tasks first (most urgent first, each
// with terima, berangkat, di lokasi, selesai, terkendala, a note and the phone's location), the
// regions' emergency statuses, escalations and incidents in the token's scope (highest priority
// first, each with its "Terima insiden" button), then alerts, newest first, with the
// "Terima / Acknowledge" button and an optional note.
"use strict";

(() => {
  const {t, el, wibTime, ago} = Posko;
  const state = {alerts: new Map(), acks: new Map(), regions: {}, me: null, sending: new Set(), link: "connecting",
                 errors: new Map(), incidents: new Map(), incidentAcks: new Map(), escalations: [],
                 tasks: new Map(), emergencies: new Map(), results: new Map(), refs: new Map(), position: null};
  let link = null;

  function addAck(ack) {
    const list = state.acks.get(ack.alert_id) || [];
    if (!list.some((a) => a.id === ack.id)) list.push(ack);
    state.acks.set(ack.alert_id, list);
    state.sending.delete(ack.alert_id);
  }

  function onMessage(m) {
    if (m.type === "welcome") state.me = m;
    else if (m.type === "snapshot") {
      state.alerts = new Map(m.alerts.map((a) => [a.id, a]));
      state.acks = new Map();
      m.acks.forEach(addAck);
      state.regions = m.regions;
      state.incidents = new Map((m.incidents || []).map((i) => [i.id, i]));
      state.incidentAcks = new Map((m.incident_acks || []).map((a) => [a.incident_id, a]));
      state.escalations = m.escalations || [];
      state.tasks = new Map((m.tasks || []).map((x) => [x.id, x]));
      state.emergencies = new Map((m.emergencies || []).map((e) => [e.region, e]));
    } else if (m.type === "task") {
      const known = state.tasks.get(m.task.id);
      if (!known || known.version < m.task.version) state.tasks.set(m.task.id, m.task);
    } else if (m.type === "emergency") {
      if (m.emergency.status === "normal") state.emergencies.delete(m.emergency.region);
      else state.emergencies.set(m.emergency.region, m.emergency);
    } else if (m.type === "command_sent" || m.type === "command_result") {
      const taskId = state.refs.get(m.ref);
      if (taskId) state.results.set(taskId, {text: Posko.resultText(m), ok: m.type === "command_sent" || m.accepted});
    } else if (m.type === "incident") {
      const known = state.incidents.get(m.incident.id);
      if (m.incident.status === "selesai") state.incidents.delete(m.incident.id);
      else if (!known || known.version < m.incident.version) state.incidents.set(m.incident.id, m.incident);
    } else if (m.type === "incident_ack") {
      state.incidentAcks.set(m.ack.incident_id, m.ack);
      state.sending.delete(m.ack.incident_id);
    } else if (m.type === "escalation") {
      if (!state.escalations.some((e) => e.id === m.escalation.id)) state.escalations.unshift(m.escalation);
    } else if (m.type === "alert") state.alerts.set(m.alert.id, m.alert);
    else if (m.type === "ack") addAck(m.ack);
    else if (m.type === "error") {
      showNotice(m.message);
      state.sending.clear();
    }
    render();
  }

  function onState(next, reason) {
    state.link = next;
    if (next === "refused") Posko.askToken("responder", reason);
    render();
  }

  function showNotice(text) {
    const notice = document.getElementById("notice");
    notice.textContent = text;
    notice.hidden = !text;
  }

  function card(a) {
    const node = document.getElementById("card").content.firstElementChild.cloneNode(true);
    node.dataset.alertId = a.id;
    node.dataset.severity = a.severity;
    node.querySelector(".sev").textContent = t("severity")[a.severity] || a.severity;
    node.querySelector(".headline").textContent = a.headline;
    node.querySelector(".meta").textContent =
      `${state.regions[a.region] || a.region || t("outside")} · ${t("kind")[a.event_kind]} · ${wibTime(a.occurred_at)} (${ago(a.occurred_at)})`;
    node.querySelector(".desc").textContent = a.description;
    const acks = state.acks.get(a.id) || [];
    const mine = state.me && acks.some((k) => k.acked_by === state.me.name);
    node.querySelector(".acks").replaceChildren(...acks.map((k) =>
      el("div", {class: "ack", text: `✔ ${t("acked")} ${t("by")} ${k.acked_by} · ${wibTime(k.acked_at)}${k.note ? ` — “${k.note}”` : ""}`})));
    const form = node.querySelector(".ack-form");
    const button = form.querySelector("button");
    const note = form.querySelector(".note");
    note.placeholder = t("notePlaceholder");
    if (mine) {
      form.replaceWith(el("div", {class: "mine", text: `✔ ${t("ackedByYou")}`}));
      node.classList.add("is-acked");
    } else {
      const sending = state.sending.has(a.id);
      button.textContent = sending ? t("ackSending") : (Posko.lang() === "id" ? "Terima / Acknowledge" : "Acknowledge / Terima");
      button.disabled = sending;
      form.onsubmit = (event) => {
        event.preventDefault();
        if (link.send({type: "ack", alert_id: a.id, note: note.value})) {
          state.sending.add(a.id);
          showNotice("");
          render();
        }
      };
    }
    return node;
  }

  // A task is theirs while it names them, their team or their agency (a reassigned one leaves).
  function mine(x) {
    const me = state.me;
    if (!me) return false;
    if (["officer", "supervisor", "admin", "wall"].includes(me.role)) return true;
    const {kind, name} = x.assignee;
    return (kind === "responder" && name === me.name) || (kind === "team" && name === me.team)
      || (kind === "agency" && name === me.agency);
  }

  // Where the phone is, when the person allowed it: sent with every progress report.
  function locate() {
    if (!navigator.geolocation) return;
    navigator.geolocation.getCurrentPosition(
      (p) => { state.position = {lat: p.coords.latitude, lon: p.coords.longitude}; },
      () => { state.position = null; }, {enableHighAccuracy: true, maximumAge: 60000, timeout: 10000});
  }

  const MOVES = [["accept", "terima"], ["berangkat", "berangkat"], ["di_lokasi", "di lokasi"], ["selesai", "selesai"],
                 ["terkendala", "terkendala"]];

  function act(x, move, node) {
    const note = node.querySelector(".task-note").value.trim();
    const reason = node.querySelector(".task-reason").value.trim();
    if (move === "terkendala" && !reason) {
      state.results.set(x.id, {text: Posko.lang() === "id" ? "Tulis alasan terkendala dulu / give the reason"
                                                           : "Give the reason first / tulis alasan", ok: false});
      render();
      return;
    }
    locate();
    const action = move === "accept" ? {action: "accept_task", task_id: x.id, note}
      : {action: "report_progress", task_id: x.id, status: move, note, reason, location: state.position};
    const ref = link.command(action, x.version, "responder");
    state.results.set(x.id, ref ? {text: t("sent"), ok: true} : {text: t("notSent"), ok: false});
    if (ref) state.refs.set(ref, x.id);
    render();
  }

  function taskCard(x) {
    const overdue = !["selesai", "dibatalkan"].includes(x.status) && new Date(x.due_at) < Date.now();
    const incident = x.incident_id ? state.incidents.get(x.incident_id) : null;
    const node = el("li", {class: `task${overdue ? " is-overdue" : ""}`, "data-task-id": x.id,
                           "data-status": x.status, "data-priority": x.priority},
      el("span", {class: "prio", text: t("priority")[x.priority] || x.priority}),
      el("span", {class: "task-status", text: t("taskStatus")[x.status] || x.status}),
      x.drill ? el("span", {class: "drill", text: t("drill")}) : null,
      el("div", {class: "headline", text: x.title}),
      x.details ? el("div", {class: "desc", text: x.details}) : null,
      el("div", {class: "meta", text: `${t("due")} ${wibTime(x.due_at)}${overdue ? ` · ${t("overdueTasks")}` : ""}`
        + `${x.region ? ` · ${state.regions[x.region] || x.region}` : ""}${incident ? ` · ${incident.title}` : ""}`}));
    const result = state.results.get(x.id);
    if (result) node.append(el("div", {class: `result${result.ok ? "" : " bad"}`, text: result.text}));
    if (["selesai", "dibatalkan"].includes(x.status) || !mine(x)) return node;
    const buttons = MOVES.filter(([move]) => move !== "accept" || x.status === "baru")
      .filter(([move]) => move !== x.status)
      .map(([move, label]) => {
        const b = el("button", {class: `move move-${move}`, type: "button", "data-move": move, text: label});
        b.onclick = () => act(x, move, node);
        return b;
      });
    node.append(el("input", {class: "task-note", maxlength: "2000", placeholder: Posko.lang() === "id"
      ? "Catatan (opsional), mis. 12 warga dievakuasi" : "Note (optional), e.g. 12 people evacuated"}),
      el("input", {class: "task-reason", maxlength: "2000", placeholder: Posko.lang() === "id"
        ? "Alasan bila terkendala" : "Reason when held up"}),
      el("div", {class: "moves"}, ...buttons));
    return node;
  }

  function renderTasks() {
    document.getElementById("tasks-head").textContent = t("yourTasks");
    const list = document.getElementById("tasks");
    const typed = {};
    list.querySelectorAll(".task").forEach((n) => {
      const inputs = [...n.querySelectorAll("input")].map((i) => i.value);
      if (inputs.some((v) => v)) typed[n.dataset.taskId] = inputs;
    });
    const focused = document.activeElement && document.activeElement.closest(".task")
      ? [document.activeElement.closest(".task").dataset.taskId, document.activeElement.className] : null;
    const over = (x) => ["selesai", "dibatalkan"].includes(x.status);
    const tasks = [...state.tasks.values()].filter(mine).sort((a, b) => (over(a) - over(b))
      || (Posko.PRIORITY_RANK[a.priority] - Posko.PRIORITY_RANK[b.priority]) || (new Date(b.created_at) - new Date(a.created_at)));
    list.replaceChildren(...(tasks.length ? tasks.map((x) => {
      const node = taskCard(x);
      (typed[x.id] || []).forEach((v, n) => { const input = node.querySelectorAll("input")[n]; if (input) input.value = v; });
      return node;
    }) : [el("li", {class: "empty", text: t("noTasks")})]));
    if (focused) {
      const input = list.querySelector(`[data-task-id="${focused[0]}"] .${focused[1].split(" ")[0]}`);
      if (input) input.focus();
    }
    const emergencies = [...state.emergencies.values()];
    document.getElementById("emergencies").replaceChildren(...emergencies.map((e) =>
      el("li", {class: "emergency", "data-region": e.region, "data-emergency": e.status},
        el("b", {text: `${state.regions[e.region] || e.region}: ${t("emergency")[e.status] || e.status}`}),
        el("div", {class: "why", text: `${e.decree ? `${t("decree")} ${e.decree} · ` : ""}${wibTime(e.decided_at)}`}))));
  }

  function incidentCard(i) {
    const ack = state.incidentAcks.get(i.id) || (i.acked_by ? {acked_by: i.acked_by, acked_at: i.acked_at} : null);
    const regions = i.regions.map((r) => state.regions[r] || r).join(", ");
    const node = el("li", {class: "incident", "data-incident-id": i.id, "data-priority": i.priority},
      el("span", {class: "prio", text: t("priority")[i.priority] || i.priority}),
      el("div", {class: "headline", text: i.title}),
      el("div", {class: "meta", text: `${t("hazard")[i.hazard] || i.hazard} · ${regions} · ${i.signal_count} ${t("signals")}`
        + ` · ${t("lastSignal")} ${wibTime(i.last_at)} (${ago(i.last_at)})`}),
      i.victims ? el("div", {class: "meta", text: `⚠ ${t("victims")}`}) : null);
    if (ack) {
      const mine = state.me && ack.acked_by === state.me.name;
      node.append(el("div", {class: mine ? "mine" : "ack",
                             text: mine ? `✔ ${t("ackedByYou")}` : `✔ ${t("acked")} ${t("by")} ${ack.acked_by}`
                               + (ack.acked_at ? ` · ${wibTime(ack.acked_at)}` : "")}));
      return node;
    }
    const sending = state.sending.has(i.id);
    const button = el("button", {class: "ack-button incident-ack", type: "button",
                                 text: sending ? t("ackSending") : (Posko.lang() === "id" ? "Terima insiden / Acknowledge"
                                                                                          : "Acknowledge / Terima insiden")});
    button.disabled = sending;
    button.onclick = () => {
      if (link.send({type: "incident_ack", incident_id: i.id})) { state.sending.add(i.id); showNotice(""); render(); }
    };
    node.append(button);
    return node;
  }

  function renderIncidents() {
    document.getElementById("incidents-head").textContent = t("yourIncidents");
    document.getElementById("alerts-head").textContent = t("yourAlerts");
    const incidents = [...state.incidents.values()].sort(Posko.byPriority);
    document.getElementById("incidents").replaceChildren(...(incidents.length ? incidents.map(incidentCard)
      : [el("li", {class: "empty", text: t("noIncidents")})]));
    document.getElementById("escalations").replaceChildren(...state.escalations.slice(0, 3).map((e) =>
      el("li", {class: "escalation", "data-escalation-id": e.id},
        el("div", {text: `${t("escalatedTo")} ${e.role}: ${e.headline}`}),
        el("div", {class: "why", text: `${e.reason} · ${wibTime(e.fired_at)}`}))));
  }

  function render() {
    renderTasks();
    renderIncidents();
    document.getElementById("lang").textContent = Posko.lang() === "id" ? "EN" : "ID";
    const linkNode = document.getElementById("link-state");
    linkNode.dataset.state = state.link;
    linkNode.textContent = `● ${t(state.link)}`;
    if (state.me) {
      document.getElementById("who").textContent = state.me.name;
      const regions = state.me.regions.map((r) => state.regions[r] || r).join(", ") || t("all");
      const min = state.me.min_severity !== "Unknown" ? ` · ${t("minSeverity")} ${t("severity")[state.me.min_severity]}` : "";
      document.getElementById("scope").textContent = `${t("scope")}: ${regions}${min}`;
    }
    // Keep what the responder is typing: re-render only cards whose content changed.
    const list = document.getElementById("alerts");
    const focused = document.activeElement && document.activeElement.classList.contains("note")
      ? document.activeElement.closest(".alert").dataset.alertId : null;
    const alerts = [...state.alerts.values()].sort((x, y) => new Date(y.occurred_at) - new Date(x.occurred_at));
    if (!alerts.length) { list.replaceChildren(el("li", {class: "empty", text: t("noAlerts")})); return; }
    const notes = {};
    list.querySelectorAll(".alert").forEach((n) => { const i = n.querySelector(".note"); if (i) notes[n.dataset.alertId] = i.value; });
    list.replaceChildren(...alerts.map((a) => {
      const node = card(a);
      const input = node.querySelector(".note");
      if (input && notes[a.id]) input.value = notes[a.id];
      return node;
    }));
    if (focused) {
      const input = list.querySelector(`[data-alert-id="${focused}"] .note`);
      if (input) input.focus();
    }
  }

  document.getElementById("lang").onclick = () => { Posko.setLang(Posko.lang() === "id" ? "en" : "id"); render(); };
  Posko.setLang(Posko.lang());
  setInterval(render, 30000);
  const token = Posko.token("responder");
  if (!token) { Posko.askToken("responder"); return; }
  locate();
  link = new Posko.Link(token, onMessage, onState);
  link.connect();
  render();
})();
