// The officer's console: incidents by priority (drills marked LATIHAN, task progress), the
// selected incident's signals on the map with its items, tasks and notes; commands to open,
// merge, split, close and mark incidents, set a region's emergency status, give, reassign and
// cancel tasks, and write notes and sitreps; decision support: the selected incident's open
// recommendations (made a task in one click, or dismissed with a reason) and the region ranking
// with each part's why. Each command carries the version the officer saw and shows what became
// of it (applied, or why it was refused).
"use strict";

(() => {
  const {t, el, wibTime, ago, byPriority, progress, progressText} = Posko;
  const WORDS = {
    id: {
      console: "Konsol petugas", incidents: "Insiden menurut prioritas", openIncident: "Buka insiden baru", open: "Buka",
      drillMark: "Latihan", title: "Judul insiden", decree: "Nomor SK", setStatus: "Tetapkan",
      pick: "Pilih insiden di kiri", items: "Butir / sinyal", tasks: "Tugas", notes: "Catatan & sitrep",
      merge: "Gabungkan ke insiden ini", split: "Pisahkan butir terpilih", splitTitle: "Judul insiden baru (opsional)",
      close: "Tutup insiden", closeReason: "Alasan penutupan", markDrill: "Tandai latihan", unmarkDrill: "Bukan latihan",
      sitrep: "Sitrep (PDF)", newTask: "Tugas baru", taskTitle: "Apa yang dikerjakan", assignee: "Nama penerima",
      give: "Beri tugas", reassign: "Alihkan", cancel: "Batalkan", cancelReason: "Alasan pembatalan",
      writeNote: "Tulis catatan", asSitrep: "sebagai sitrep", save: "Simpan", details: "Rincian (opsional)",
      lat: "lintang", lon: "bujur", other: "insiden lain…", version: "versi", noNotes: "Belum ada catatan",
      recs: "Rekomendasi", noRecs: "Tidak ada rekomendasi terbuka", makeTask: "Jadikan tugas", dismiss: "Abaikan",
      dismissReason: "Alasan diabaikan (wajib)", rule: "aturan", ranking: "Peringkat wilayah", noRanking: "Belum ada peringkat",
      score: "skor", overdueRec: "lewat tenggat",
    },
    en: {
      console: "Officer console", incidents: "Incidents by priority", openIncident: "Open a new incident", open: "Open",
      drillMark: "Drill", title: "Incident title", decree: "Decree number", setStatus: "Set",
      pick: "Pick an incident on the left", items: "Items / signals", tasks: "Tasks", notes: "Notes & sitreps",
      merge: "Merge into this incident", split: "Split the selected items", splitTitle: "New incident's title (optional)",
      close: "Close incident", closeReason: "Why it is closed", markDrill: "Mark as drill", unmarkDrill: "Not a drill",
      sitrep: "Sitrep (PDF)", newTask: "New task", taskTitle: "What is to be done", assignee: "Assignee's name",
      give: "Give task", reassign: "Reassign", cancel: "Cancel", cancelReason: "Why it is cancelled",
      writeNote: "Write a note", asSitrep: "as a sitrep", save: "Save", details: "Details (optional)",
      lat: "lat", lon: "lon", other: "another incident…", version: "version", noNotes: "No notes yet",
      recs: "Recommendations", noRecs: "No open recommendations", makeTask: "Make it a task", dismiss: "Dismiss",
      dismissReason: "Why it is dismissed (required)", rule: "rule", ranking: "Region ranking", noRanking: "No ranking yet",
      score: "score", overdueRec: "overdue",
    },
  };
  const w = (key) => WORDS[Posko.lang()][key];
  const HAZARDS = ["banjir", "longsor", "gempa", "karhutla", "cuaca", "kebakaran", "lainnya"];
  const PRIORITIES = ["segera", "tinggi", "sedang", "rendah"];
  const STATUSES = ["siaga_darurat", "tanggap_darurat", "transisi_darurat", "normal"];
  const KINDS = ["responder", "team", "agency"];
  const state = {
    incidents: new Map(), tasks: new Map(), emergencies: new Map(), notes: new Map(), regions: {}, me: null,
    ranking: new Map(), recommendations: new Map(),
    selected: null, link: "connecting", results: [], refs: new Map(), picked: new Set(),
    hideDrills: localStorage.getItem("posko.hideDrills") === "yes",
  };
  window.poskoConsole = state; // for people and tests inspecting a running console
  let link = null;
  let pending = false;

  function addNote(n) {
    const list = state.notes.get(n.incident_id) || [];
    if (!list.some((x) => x.id === n.id)) list.push(n);
    list.sort((a, b) => new Date(a.at) - new Date(b.at));
    state.notes.set(n.incident_id, list);
  }

  function onMessage(m) {
    if (m.type === "welcome") state.me = m;
    else if (m.type === "snapshot") {
      state.incidents = new Map((m.incidents || []).map((i) => [i.id, i]));
      state.tasks = new Map((m.tasks || []).map((x) => [x.id, x]));
      state.emergencies = new Map((m.emergencies || []).map((e) => [e.region, e]));
      state.notes = new Map();
      (m.notes || []).forEach(addNote);
      state.ranking = new Map((m.ranking || []).map((x) => [`${x.region}|${x.hazard}`, x]));
      state.recommendations = new Map((m.recommendations || []).map((r) => [r.id, r]));
      state.regions = m.regions;
      fillChoices();
    } else if (m.type === "incident") {
      const known = state.incidents.get(m.incident.id);
      if (m.incident.status === "selesai") state.incidents.delete(m.incident.id);
      else if (!known || known.version < m.incident.version) state.incidents.set(m.incident.id, m.incident);
    } else if (m.type === "task") {
      const known = state.tasks.get(m.task.id);
      if (!known || known.version < m.task.version) state.tasks.set(m.task.id, m.task);
    } else if (m.type === "emergency") {
      if (m.emergency.status === "normal") state.emergencies.delete(m.emergency.region);
      else state.emergencies.set(m.emergency.region, m.emergency);
    } else if (m.type === "note") addNote(m.note);
    else if (m.type === "ranking") state.ranking.set(`${m.score.region}|${m.score.hazard}`, m.score);
    else if (m.type === "recommendation") {
      // Defaults are left out of the message (omit_defaults): no status is terbuka.
      if ((m.recommendation.status || "terbuka") === "terbuka") state.recommendations.set(m.recommendation.id, m.recommendation);
      else state.recommendations.delete(m.recommendation.id);
    }
    else if (m.type === "command_sent" || m.type === "command_result") onResult(m);
    else if (m.type === "error") state.results.unshift({ref: "", label: "", text: m.message, ok: false});
    schedule();
  }

  function onResult(m) {
    const known = state.refs.get(m.ref);
    if (!known) return;
    known.text = Posko.resultText(m);
    known.ok = m.type === "command_sent" ? null : m.accepted;
    known.status = m.status;
  }

  /** Send a command; its line in the results (and on the task or incident it is about). */
  function command(label, action, expectedVersion, about) {
    const ref = link ? link.command(action, expectedVersion, "console") : null;
    const line = {ref, label, about, text: ref ? t("sent") : t("notSent"), ok: ref ? null : false};
    if (ref) state.refs.set(ref, line);
    state.results.unshift(line);
    state.results.length = Math.min(state.results.length, 30);
    schedule();
  }

  /** The incident's sitrep as a PDF, asked for with the console's credential, then saved. */
  async function sitrep(i) {
    const line = {ref: null, label: w("sitrep"), about: i.id, text: t("sent"), ok: null};
    state.results.unshift(line);
    schedule();
    try {
      const response = await fetch(`/sitrep/${i.id}.pdf`, {headers: {Authorization: `Bearer ${Posko.token("console")}`}});
      if (!response.ok) throw new Error(`${response.status}: ${await response.text()}`);
      const url = URL.createObjectURL(await response.blob());
      el("a", {href: url, download: `sitrep-${i.id}.pdf`}).click();
      Object.assign(line, {text: `sitrep-${i.id}.pdf`, ok: true});
    } catch (error) {
      Object.assign(line, {text: String(error.message || error), ok: false});
    }
    schedule();
  }

  function onState(next, reason) {
    state.link = next;
    if (next === "refused") Posko.askToken("console", reason);
    schedule();
  }

  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; render(); });
  }

  function regionName(code) { return code ? (state.regions[code] || code).replace(/^Kabupaten /, "") : t("outside"); }

  function options(select, values, label) {
    const keep = select.value;
    select.replaceChildren(...values.map((v) => el("option", {value: v, text: label(v)})));
    if (values.includes(keep)) select.value = keep;
  }

  function fillChoices() {
    const codes = Object.keys(state.regions).sort();
    document.querySelectorAll("select.regions").forEach((s) => options(s, codes, regionName));
    document.querySelectorAll("select.priorities").forEach((s) => options(s, PRIORITIES, (p) => t("priority")[p]));
    options(document.getElementById("open-hazard"), HAZARDS, (h) => t("hazard")[h]);
    options(document.getElementById("emergency-status"), STATUSES, (s) => t("emergency")[s]);
  }

  // A datetime-local field read as WIB (UTC+7), whatever the desk computer's own zone.
  function fromWib(value) { return new Date(`${value}:00+07:00`).toISOString(); }
  function toWib(date) { return new Date(date.getTime() + 7 * 3600000).toISOString().slice(0, 16); }

  function tasksOf(i) { return [...state.tasks.values()].filter((x) => x.incident_id === i.id); }

  function visible() {
    return [...state.incidents.values()].filter((i) => !(state.hideDrills && i.drill)).sort(byPriority);
  }

  function incidentCard(i) {
    const p = progress(tasksOf(i));
    const node = el("li", {class: `incident${state.selected === i.id ? " is-selected" : ""}`, "data-incident-id": i.id,
                           "data-priority": i.priority},
      el("div", {}, el("span", {class: "prio", text: t("priority")[i.priority]}),
        i.drill ? el("span", {class: "drill", text: t("drill")}) : null,
        el("span", {class: "title", text: i.title})),
      el("div", {class: "meta", text: `${t("hazard")[i.hazard] || i.hazard} · ${(i.regions || []).map(regionName).join(", ")}`
        + ` · ${i.signal_count} ${t("signals")} · ${t("status")[i.status] || i.status} · ${ago(i.last_at)}`}),
      p.total ? el("div", {class: `progress${p.overdue ? " has-overdue" : ""}`, text: `${t("tasks")}: ${progressText(p)}`})
        : null);
    node.onclick = () => { state.selected = i.id; state.picked.clear(); render(); };
    return node;
  }

  function button(text, onclick, attrs) {
    const b = el("button", {type: "button", text, ...(attrs || {})});
    b.onclick = onclick;
    return b;
  }

  function field(attrs) { return el("input", attrs); }

  function value(scope, key) { const n = scope.querySelector(`[data-keep="${key}"]`); return n ? n.value.trim() : ""; }

  function resultOf(about) {
    const line = state.results.find((r) => r.about === about);
    return line ? el("div", {class: `result ${line.ok === false ? "bad" : "good"}`, text: `${line.label}: ${line.text}`}) : null;
  }

  function taskRow(x) {
    const overdue = !["selesai", "dibatalkan"].includes(x.status) && new Date(x.due_at) < Date.now();
    const last = (x.history || [])[x.history.length - 1];
    const node = el("li", {class: `task${overdue ? " is-overdue" : ""}`, "data-task-id": x.id, "data-priority": x.priority,
                           "data-status": x.status, "data-version": x.version},
      el("div", {}, el("span", {class: "prio", text: t("priority")[x.priority]}),
        el("span", {class: "task-status", text: t("taskStatus")[x.status] || x.status}), " ",
        el("b", {text: x.title})),
      el("div", {class: "meta"}, el("span", {text: `${t("forWhom")} ${t("assigneeKind")[x.assignee.kind]} ${x.assignee.name} · `}),
        el("span", {class: "due", text: `${t("due")} ${wibTime(x.due_at)}${overdue ? ` (${t("overdueTasks")})` : ""}`}),
        el("span", {text: ` · ${w("version")} ${x.version}`})),
      last && (last.note || last.reason) ? el("div", {class: "meta", text: `${last.by}: ${last.reason || last.note}`}) : null);
    if (!["selesai", "dibatalkan"].includes(x.status)) {
      const kind = el("select", {"data-keep": `rk-${x.id}`}, ...KINDS.map((k) => el("option", {value: k, text: t("assigneeKind")[k]})));
      node.append(el("div", {class: "task-form"}, kind,
        field({"data-keep": `rn-${x.id}`, placeholder: w("assignee"), class: "reassign-name"}),
        button(w("reassign"), () => {
          const name = value(node, `rn-${x.id}`);
          if (name) command(w("reassign"), {action: "reassign_task", task_id: x.id, assignee: {kind: kind.value, name}}, x.version, x.id);
        }, {class: "reassign"}),
        field({"data-keep": `cr-${x.id}`, placeholder: w("cancelReason"), class: "cancel-reason"}),
        button(w("cancel"), () => {
          const reason = value(node, `cr-${x.id}`);
          if (reason) command(w("cancel"), {action: "cancel_task", task_id: x.id, reason}, x.version, x.id);
        }, {class: "cancel danger"})));
    }
    const result = resultOf(x.id);
    if (result) node.append(result);
    return node;
  }

  // Who a recommendation names is a team when it says so (TRC, Tim, Satgas), else an agency (Dinas, BPBD, …).
  function assigneeOf(r) { return {kind: /\b(TRC|Tim|Satgas|Regu)\b/i.test(r.assignee || "") ? "team" : "agency", name: r.assignee || "BPBD"}; }

  function recsOf(i) {
    return [...state.recommendations.values()].filter((r) => r.incident_id === i.id
      || (!r.incident_id && r.hazard === i.hazard && (i.regions || []).includes(r.region)))
      .sort((a, b) => new Date(a.due_at) - new Date(b.due_at));
  }

  function recRow(i, r) {
    const overdue = new Date(r.due_at) < Date.now();
    const node = el("li", {class: `rec${overdue ? " is-overdue" : ""}`, "data-recommendation-id": r.id, "data-rule": r.rule},
      el("div", {}, el("b", {class: "rec-action", text: r.action}), r.drill ? el("span", {class: "drill", text: t("drill")}) : null),
      el("div", {class: "meta rec-why", text: r.why}),
      el("div", {class: "meta"}, el("span", {class: "due", text: `${t("due")} ${wibTime(r.due_at)}${overdue ? ` (${w("overdueRec")})` : ""}`}),
        el("span", {text: ` · ${t("forWhom")} ${r.assignee || "—"} · ${w("rule")} ${r.rule}`})),
      el("div", {class: "actions"},
        button(w("makeTask"), () => command(w("makeTask"), {action: "create_task", incident_id: r.incident_id || i.id,
          title: r.action, assignee: assigneeOf(r), priority: i.priority, due_at: r.due_at, region: r.region,
          details: r.why, recommendation_id: r.id}, null, r.id), {class: "make-task"}),
        field({"data-keep": `dr-${r.id}`, placeholder: w("dismissReason"), class: "dismiss-reason", maxlength: "500"}),
        button(w("dismiss"), () => {
          const reason = value(node, `dr-${r.id}`);
          if (reason) command(w("dismiss"), {action: "dismiss_recommendation", recommendation_id: r.id, reason}, null, r.id);
          else node.querySelector(".dismiss-reason").focus();
        }, {class: "dismiss danger"})));
    const result = resultOf(r.id);
    if (result) node.append(result);
    return node;
  }

  function rankingPanel() {
    const rows = [...state.ranking.values()].filter((x) => x.score > 0 && !(state.hideDrills && x.drill))
      .sort((a, b) => a.rank - b.rank).slice(0, 10);
    return rows.length ? rows.map((x) => el("li", {class: "rank", "data-region": x.region, "data-hazard": x.hazard},
      el("div", {}, el("b", {text: `${x.rank}. ${regionName(x.region)}`}), ` · ${t("hazard")[x.hazard] || x.hazard}`
        + ` · ${w("score")} ${x.score.toFixed(2)}`, x.drill ? el("span", {class: "drill", text: t("drill")}) : null),
      el("ul", {class: "parts"}, ...x.parts.filter((p) => p.points > 0).map((p) =>
        el("li", {class: "meta", "data-factor": p.factor, text: `${p.factor} +${p.points.toFixed(2)}: ${p.why}`})))))
      : [el("li", {class: "empty", text: w("noRanking")})];
  }

  function taskForm(i) {
    const form = el("form", {class: "task-form", id: "task-form"},
      field({"data-keep": "task-title", placeholder: w("taskTitle"), required: "required", maxlength: "200", name: "title"}),
      el("select", {"data-keep": "task-kind", name: "kind"}, ...KINDS.map((k) => el("option", {value: k, text: t("assigneeKind")[k]}))),
      field({"data-keep": "task-name", placeholder: w("assignee"), required: "required", name: "name"}),
      el("select", {"data-keep": "task-priority", name: "priority"}, ...PRIORITIES.map((p) => el("option", {value: p, text: t("priority")[p]}))),
      field({"data-keep": "task-due", type: "datetime-local", name: "due", required: "required"}),
      el("select", {"data-keep": "task-region", name: "region"}, ...(i.regions || []).map((r) => el("option", {value: r, text: regionName(r)}))),
      field({"data-keep": "task-lat", placeholder: w("lat"), name: "lat", size: "7"}),
      field({"data-keep": "task-lon", placeholder: w("lon"), name: "lon", size: "7"}),
      field({"data-keep": "task-details", placeholder: w("details"), name: "details"}),
      el("button", {type: "submit", text: w("give")}));
    form.onsubmit = (event) => {
      event.preventDefault();
      const f = form.elements;
      const action = {action: "create_task", incident_id: i.id, title: f.title.value.trim(),
                      assignee: {kind: f.kind.value, name: f.name.value.trim()}, priority: f.priority.value,
                      due_at: fromWib(f.due.value), region: f.region.value || null, details: f.details.value.trim()};
      if (f.lat.value && f.lon.value) action.location = {lat: Number(f.lat.value), lon: Number(f.lon.value)};
      command(w("give"), action, null, `task-form-${i.id}`);
      f.title.value = ""; f.name.value = ""; f.details.value = "";
    };
    return form;
  }

  function detail() {
    const box = document.getElementById("detail");
    const i = state.selected ? state.incidents.get(state.selected) : null;
    if (!i) return [el("div", {class: "empty", text: w("pick")})];
    const others = visible().filter((o) => o.id !== i.id);
    const other = el("select", {"data-keep": "merge-other"}, el("option", {value: "", text: w("other")}),
      ...others.map((o) => el("option", {value: o.id, text: `${t("priority")[o.priority]} · ${o.title}`})));
    const head = el("div", {class: "detail-head"},
      el("div", {}, el("span", {class: "prio", text: t("priority")[i.priority]}), i.drill ? el("span", {class: "drill", text: t("drill")}) : null,
        el("span", {class: "title", text: i.title})),
      el("div", {class: "meta", text: `${t("hazard")[i.hazard]} · ${(i.regions || []).map(regionName).join(", ")} · ${i.why || ""}`
        + ` · ${w("version")} ${i.version}`}),
      el("div", {class: "actions"},
        button(w("sitrep"), () => sitrep(i), {class: "sitrep-link"}),
        button(i.drill ? w("unmarkDrill") : w("markDrill"), () => command(w("markDrill"),
          {action: "mark_drill", incident_id: i.id, drill: !i.drill}, i.version, i.id), {class: "mark-drill"}),
        other, button(w("merge"), () => other.value && command(w("merge"),
          {action: "merge_incidents", incident_id: i.id, other_id: other.value}, i.version, i.id), {class: "merge"})),
      el("div", {class: "actions"},
        field({"data-keep": "close-reason", placeholder: w("closeReason"), class: "close-reason"}),
        button(w("close"), () => {
          const reason = value(box, "close-reason");
          if (reason) command(w("close"), {action: "close_incident", incident_id: i.id, reason}, i.version, i.id);
        }, {class: "close danger"})),
      resultOf(i.id));
    const items = el("ol", {class: "items"}, ...(i.items || []).map((item) => {
      const check = el("input", {type: "checkbox", "data-item-id": item.id});
      check.checked = state.picked.has(item.id);
      check.onchange = () => { if (check.checked) state.picked.add(item.id); else state.picked.delete(item.id); };
      return el("li", {class: "item"}, check, el("span", {text: t("signalKind")[item.kind] || item.kind}),
        el("span", {class: "headline", text: item.headline}), el("span", {text: `${regionName(item.region)} · ${wibTime(item.last_at)}`}));
    }));
    const split = el("div", {class: "actions"}, field({"data-keep": "split-title", placeholder: w("splitTitle")}),
      button(w("split"), () => {
        if (!state.picked.size) return;
        const title = value(box, "split-title");
        command(w("split"), {action: "split_incident", incident_id: i.id, item_ids: [...state.picked], title: title || null},
                i.version, i.id);
        state.picked.clear();
      }, {class: "split"}));
    const tasks = tasksOf(i).sort((a, b) => new Date(a.created_at) - new Date(b.created_at));
    const notes = state.notes.get(i.id) || [];
    const noteForm = el("form", {class: "note-form", id: "note-form"},
      el("textarea", {"data-keep": "note-text", name: "text", rows: "3", maxlength: "8000", placeholder: w("writeNote")}),
      el("label", {}, el("input", {type: "checkbox", name: "sitrep"}), ` ${w("asSitrep")} `),
      el("button", {type: "submit", text: w("save")}));
    noteForm.onsubmit = (event) => {
      event.preventDefault();
      const text = noteForm.elements.text.value.trim();
      if (!text) return;
      command(w("save"), {action: "add_note", incident_id: i.id, text, sitrep: noteForm.elements.sitrep.checked}, null, `note-${i.id}`);
      noteForm.elements.text.value = "";
    };
    const recs = recsOf(i);
    return [head, el("h3", {text: `${w("recs")} (${recs.length})`}),
      el("ol", {class: "recs", id: "recs"}, ...(recs.length ? recs.map((r) => recRow(i, r)) : [el("li", {class: "empty", text: w("noRecs")})])),
      el("h3", {text: `${w("items")} (${(i.items || []).length})`}), items, split,
      el("h3", {text: `${w("tasks")} · ${progressText(progress(tasks))}`}),
      el("ol", {class: "tasks", id: "tasks"}, ...tasks.map(taskRow)), el("h3", {text: w("newTask")}), taskForm(i),
      resultOf(`task-form-${i.id}`),
      el("h3", {text: w("notes")}),
      el("ol", {class: "notes"}, ...(notes.length ? notes.map((n) => el("li", {class: `note${n.sitrep ? " sitrep" : ""}`, "data-note-id": n.id},
        el("div", {class: "meta", text: `${n.sitrep ? "SITREP · " : ""}${n.by} · ${wibTime(n.at)}`}), el("div", {text: n.text})))
        : [el("li", {class: "empty", text: w("noNotes")})])), noteForm, resultOf(`note-${i.id}`)];
  }

  /** Re-render a container keeping what the officer typed or chose, and where the cursor was. */
  function keeping(container, children) {
    const kept = {};
    container.querySelectorAll("[data-keep]").forEach((n) => { kept[n.dataset.keep] = n.value; });
    const focused = document.activeElement && container.contains(document.activeElement) ? document.activeElement.dataset.keep : null;
    container.replaceChildren(...children);
    container.querySelectorAll("[data-keep]").forEach((n) => { if (kept[n.dataset.keep] !== undefined) n.value = kept[n.dataset.keep]; });
    const due = container.querySelector('[data-keep="task-due"]');
    if (due && !due.value) due.value = toWib(new Date(Date.now() + 3600000));
    if (focused) { const n = container.querySelector(`[data-keep="${focused}"]`); if (n) n.focus(); }
  }

  function render() {
    document.querySelectorAll("[data-w]").forEach((n) => { n.textContent = w(n.dataset.w); });
    document.querySelectorAll("[data-ph]").forEach((n) => { n.placeholder = w(n.dataset.ph); });
    document.getElementById("lang").textContent = Posko.lang() === "id" ? "EN" : "ID";
    document.getElementById("drills").textContent = state.hideDrills ? t("showDrills") : t("hideDrills");
    const linkNode = document.getElementById("link-state");
    linkNode.dataset.state = state.link;
    linkNode.textContent = `● ${t(state.link)}`;
    if (state.me) document.getElementById("who").textContent = `${state.me.name} (${state.me.role})`;
    const all = visible();
    document.getElementById("incidents").replaceChildren(...(all.length ? all.map(incidentCard)
      : [el("li", {class: "empty", text: t("noIncidents")})]));
    keeping(document.getElementById("detail"), detail());
    const byRegion = {};
    for (const i of all) for (const code of i.regions || []) {
      const r = byRegion[code] || (byRegion[code] = {count: 0, worst: i.priority});
      r.count += 1;
      if (Posko.PRIORITY_RANK[i.priority] < Posko.PRIORITY_RANK[r.worst]) r.worst = i.priority;
    }
    PoskoMap.shadeIncidents(byRegion);
    const selected = state.selected ? state.incidents.get(state.selected) : null;
    if (selected) PoskoMap.place((selected.items || []).filter((x) => x.location), new Set());
    else PoskoMap.placeIncidents(all, new Set());
    const emergencies = [...state.emergencies.values()].filter((e) => !(state.hideDrills && e.drill));
    PoskoMap.markEmergencies(Object.fromEntries(emergencies.map((e) => [e.region, e.status])));
    document.getElementById("emergencies").replaceChildren(...(emergencies.length ? emergencies.map((e) =>
      el("li", {class: "emergency", "data-region": e.region, "data-emergency": e.status},
        el("b", {text: `${regionName(e.region)}: ${t("emergency")[e.status]}`}), e.drill ? el("span", {class: "drill", text: t("drill")}) : null,
        el("div", {class: "meta", text: `${e.decree ? `${t("decree")} ${e.decree} · ` : ""}${wibTime(e.decided_at)} · ${e.decided_by}`})))
      : [el("li", {class: "empty", text: t("noEmergencies")})]));
    document.getElementById("ranking").replaceChildren(...rankingPanel());
    document.getElementById("results").replaceChildren(...state.results.map((r) =>
      el("li", {class: r.ok === false ? "bad" : "good", "data-ref": r.ref || "", "data-status": r.status || ""},
        el("b", {text: `${r.label}: `}), el("span", {text: r.text}))));
  }

  document.getElementById("open-form").onsubmit = (event) => {
    event.preventDefault();
    const f = event.target.elements;
    command(w("open"), {action: "open_incident", title: f.title.value.trim(), hazard: f.hazard.value,
                        regions: [f.region.value], priority: f.priority.value, drill: f.drill.checked}, null, "open");
    f.title.value = "";
  };
  document.getElementById("emergency-form").onsubmit = (event) => {
    event.preventDefault();
    const f = event.target.elements;
    const current = state.emergencies.get(f.region.value);
    command(w("setStatus"), {action: "set_emergency_status", region: f.region.value, status: f.status.value,
                             decided_at: fromWib(f.decided_at.value), decree: f.decree.value.trim() || null},
            current ? current.version : null, `emergency-${f.region.value}`);
  };
  document.getElementById("drills").onclick = () => {
    state.hideDrills = !state.hideDrills;
    localStorage.setItem("posko.hideDrills", state.hideDrills ? "yes" : "no");
    render();
  };
  document.getElementById("lang").onclick = () => { Posko.setLang(Posko.lang() === "id" ? "en" : "id"); fillChoices(); render(); };
  Posko.setLang(Posko.lang());
  setInterval(schedule, 30000);
  document.querySelector('#emergency-form [name="decided_at"]').value = toWib(new Date());
  PoskoMap.draw(document.getElementById("map")).then(schedule);
  const token = Posko.token("console");
  if (!token) { Posko.askToken("console"); return; }
  link = new Posko.Link(token, onMessage, onState);
  link.connect();
  render();
})();
