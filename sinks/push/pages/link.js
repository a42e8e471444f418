// The connection to the Posko push gateway, shared by the wall, the console and the responder
// page: auth first, resume after a reconnect, a watchdog on the gateway's 15 s ping, commands and
// their results, and the words the pages show in Bahasa Indonesia and English.
"use strict";

const Posko = (() => {
  const WORDS = {
    id: {
      title: "POSKO JAMBI", subtitle: "Pusat Komando Tanggap Darurat Provinsi Jambi",
      live: "LANGSUNG", connecting: "MENYAMBUNG…", reconnecting: "MENYAMBUNG ULANG…",
      refused: "DITOLAK", offline: "TERPUTUS",
      flooded: "TERLALU BANYAK PESAN — menyambung lagi dalam 30 dtk",
      alerts: "Peringatan terkini", active: "Peringatan 1 jam", needResponse: "Perlu respons", unacked: "Belum diterima",
      severe: "Ekstrem / Parah", map: "Peta insiden terbuka",
      counts: "Jumlah 1 jam terakhir per kabupaten/kota", region: "Kabupaten/Kota",
      total: "Total", acked: "Diterima", notAcked: "BELUM DITERIMA", by: "oleh",
      ackButton: "Terima", ackSending: "Mengirim…", notePlaceholder: "Catatan (opsional), mis. tim meluncur",
      ackedByYou: "Anda sudah menerima ini", sound: "Suara", on: "hidup", off: "mati",
      ago: "lalu", minutes: "mnt", seconds: "dtk", hours: "jam", days: "hari", now: "baru saja",
      tokenPrompt: "Masukkan token akses dari Posko", tokenButton: "Masuk",
      tokenRefused: "Token ditolak", tokenHelp: "Minta kredensial baru ke petugas jaga: posko credential issue",
      gap: "pesan terlewat — tampilan dimuat ulang dari basis data", gapUnknown: "Sambungan tersela",
      noAlerts: "Tidak ada peringatan", scope: "Wilayah tugas", minSeverity: "minimal",
      lastUpdate: "Pembaruan", outside: "Luar Jambi", all: "semua", newAlert: "PERINGATAN BARU",
      location: "lokasi",
      severity: {Extreme: "EKSTREM", Severe: "PARAH", Moderate: "SEDANG", Minor: "RINGAN", Unknown: "TIDAK DIKETAHUI"},
      kind: {citizen_report: "Laporan warga", disaster_alert: "Peringatan resmi", permit_filing: "Perizinan",
             sector_indicator: "Indikator sektor"},
      incidents: "Insiden terbuka menurut prioritas", openIncidents: "Insiden terbuka", urgent: "Segera / Tinggi",
      openCol: "Insiden", noIncidents: "Tidak ada insiden terbuka", signals: "sinyal", reports: "laporan",
      victims: "KORBAN", lastSignal: "sinyal terakhir", since: "sejak", escalations: "Eskalasi",
      escalatedTo: "Eskalasi ke", noEscalations: "Tidak ada eskalasi", newIncident: "INSIDEN BARU",
      raisedIncident: "PRIORITAS NAIK", incidentMap: "Peta insiden terbuka", kecamatan: "kecamatan",
      signalsOf: "Sinyal insiden ini", yourIncidents: "Insiden di wilayah Anda", yourAlerts: "Peringatan & laporan",
      watch: "Pantau", handle: "Tangani", level: "tingkat",
      overdue: "Laporan warga lewat SLA", noOverdue: "Tidak ada laporan lewat SLA", deadline: "tenggat",
      lateBy: "terlambat",
      priority: {segera: "SEGERA", tinggi: "TINGGI", sedang: "SEDANG", rendah: "RENDAH"},
      status: {baru: "BARU", dipantau: "DIPANTAU", ditangani: "DITANGANI", selesai: "SELESAI"},
      hazard: {banjir: "Banjir", longsor: "Longsor", gempa: "Gempa", karhutla: "Karhutla", cuaca: "Cuaca ekstrem",
               kebakaran: "Kebakaran", lainnya: "Lainnya"},
      signalKind: {peringatan: "Peringatan resmi", laporan: "Laporan warga", indikator: "Indikator"},
      drill: "LATIHAN", hideDrills: "Sembunyikan latihan", showDrills: "Tampilkan latihan",
      tasks: "Tugas", yourTasks: "Tugas Anda", noTasks: "Tidak ada tugas", of: "dari", done: "selesai",
      overdueTasks: "terlambat", due: "tenggat", forWhom: "untuk",
      taskStatus: {baru: "BARU", diterima: "DITERIMA", berangkat: "BERANGKAT", di_lokasi: "DI LOKASI",
                   terkendala: "TERKENDALA", selesai: "SELESAI", dibatalkan: "DIBATALKAN"},
      assigneeKind: {responder: "Responder", team: "Tim", agency: "OPD/Dinas"},
      emergencies: "Status darurat", noEmergencies: "Tidak ada wilayah berstatus darurat", decree: "SK",
      emergency: {normal: "Normal", siaga_darurat: "Siaga darurat", tanggap_darurat: "Tanggap darurat",
                  transisi_darurat: "Transisi darurat ke pemulihan"},
      sent: "terkirim, menunggu keputusan…", applied: "diterapkan", refusedCmd: "ditolak",
      statusWord: {200: "BERHASIL", 403: "TIDAK BERHAK", 404: "TIDAK DITEMUKAN", 409: "KONFLIK", 422: "TIDAK SAH",
                   503: "GAGAL KIRIM"},
      notSent: "tidak terkirim: sambungan terputus",
    },
    en: {
      title: "POSKO JAMBI", subtitle: "Jambi Province Emergency Command Centre",
      live: "LIVE", connecting: "CONNECTING…", reconnecting: "RECONNECTING…",
      refused: "REFUSED", offline: "OFFLINE",
      flooded: "TOO MANY MESSAGES — reconnecting in 30 s",
      alerts: "Latest alerts", active: "Alerts, 1 h", needResponse: "Need response", unacked: "Not acknowledged",
      severe: "Extreme / Severe", map: "Map of open incidents",
      counts: "Last hour per regency/city", region: "Regency/City",
      total: "Total", acked: "Acknowledged", notAcked: "NOT ACKNOWLEDGED", by: "by",
      ackButton: "Acknowledge", ackSending: "Sending…", notePlaceholder: "Note (optional), e.g. team on the way",
      ackedByYou: "You acknowledged this", sound: "Sound", on: "on", off: "off",
      ago: "ago", minutes: "min", seconds: "s", hours: "h", days: "d", now: "just now",
      tokenPrompt: "Enter the access token from Posko", tokenButton: "Sign in",
      tokenRefused: "Token refused", tokenHelp: "Ask the duty officer for a new credential: posko credential issue",
      gap: "messages missed — view reloaded from the database", gapUnknown: "Connection interrupted",
      noAlerts: "No alerts", scope: "Area", minSeverity: "at least",
      lastUpdate: "Updated", outside: "Outside Jambi", all: "all", newAlert: "NEW ALERT",
      location: "location",
      severity: {Extreme: "EXTREME", Severe: "SEVERE", Moderate: "MODERATE", Minor: "MINOR", Unknown: "UNKNOWN"},
      kind: {citizen_report: "Citizen report", disaster_alert: "Official alert", permit_filing: "Permit filing",
             sector_indicator: "Sector indicator"},
      incidents: "Open incidents by priority", openIncidents: "Open incidents", urgent: "Urgent / High",
      openCol: "Incidents", noIncidents: "No open incidents", signals: "signals", reports: "reports",
      victims: "VICTIMS", lastSignal: "last signal", since: "since", escalations: "Escalations",
      escalatedTo: "Escalated to", noEscalations: "No escalations", newIncident: "NEW INCIDENT",
      overdue: "Citizen reports past their SLA", noOverdue: "No report past its SLA", deadline: "due",
      lateBy: "late by",
      raisedIncident: "PRIORITY RAISED", incidentMap: "Map of open incidents", kecamatan: "districts",
      signalsOf: "Signals of this incident", yourIncidents: "Incidents in your area", yourAlerts: "Alerts & reports",
      watch: "Watch", handle: "Handle", level: "level",
      priority: {segera: "URGENT", tinggi: "HIGH", sedang: "MEDIUM", rendah: "LOW"},
      status: {baru: "NEW", dipantau: "WATCHED", ditangani: "HANDLED", selesai: "CLOSED"},
      hazard: {banjir: "Flood", longsor: "Landslide", gempa: "Earthquake", karhutla: "Forest fire", cuaca: "Severe weather",
               kebakaran: "Fire", lainnya: "Other"},
      signalKind: {peringatan: "Official alert", laporan: "Citizen report", indikator: "Indicator"},
      drill: "DRILL", hideDrills: "Hide drills", showDrills: "Show drills",
      tasks: "Tasks", yourTasks: "Your tasks", noTasks: "No tasks", of: "of", done: "done",
      overdueTasks: "overdue", due: "due", forWhom: "for",
      taskStatus: {baru: "NEW", diterima: "ACCEPTED", berangkat: "ON THE WAY", di_lokasi: "ON SITE",
                   terkendala: "HELD UP", selesai: "DONE", dibatalkan: "CANCELLED"},
      assigneeKind: {responder: "Responder", team: "Team", agency: "Agency"},
      emergencies: "Emergency status", noEmergencies: "No region under an emergency status", decree: "decree",
      emergency: {normal: "Normal", siaga_darurat: "Emergency alert (siaga darurat)",
                  tanggap_darurat: "Emergency response (tanggap darurat)",
                  transisi_darurat: "Transition to recovery (transisi darurat)"},
      sent: "sent, waiting for the decision…", applied: "applied", refusedCmd: "refused",
      statusWord: {200: "DONE", 403: "NOT ALLOWED", 404: "NOT FOUND", 409: "CONFLICT", 422: "NOT VALID",
                   503: "NOT SENT"},
      notSent: "not sent: connection lost",
    },
  };
  const SEVERITY_RANK = {Extreme: 4, Severe: 3, Moderate: 2, Minor: 1, Unknown: 0};
  const JOURNAL = new Set(["alert", "ack", "counts", "incident", "escalation", "incident_ack", "task", "emergency",
                           "note", "ranking", "recommendation"]);
  const PRIORITY_RANK = {segera: 0, tinggi: 1, sedang: 2, rendah: 3};
  const REFUSED = 1008;
  // The gateway closes a client sending more than its message limit with 4429 and refuses the
  // same token for 30 s (sinks/gateway.py FLOOD_COOLDOWN_S): wait that long, plus a spread so
  // that pages closed together do not come back together, and keep the token.
  const FLOODED = 4429;
  const FLOODED_WAIT_MS = 30000;

  let lang = localStorage.getItem("posko.lang") || "id";

  function t(key) { return WORDS[lang][key]; }

  function setLang(next) {
    lang = next;
    localStorage.setItem("posko.lang", next);
    document.documentElement.lang = next;
  }

  function wibTime(iso, withSeconds) {
    const options = {timeZone: "Asia/Jakarta", hour: "2-digit", minute: "2-digit", hour12: false};
    if (withSeconds) options.second = "2-digit";
    return new Intl.DateTimeFormat("en-GB", options).format(new Date(iso)) + " WIB";
  }

  function wibDate(date) {
    return new Intl.DateTimeFormat(lang === "id" ? "id-ID" : "en-GB", {
      timeZone: "Asia/Jakarta", weekday: "long", day: "numeric", month: "long", year: "numeric",
    }).format(date);
  }

  function ago(iso) {
    const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
    if (s < 45) return t("now");
    if (s < 3600) return `${Math.round(s / 60)} ${t("minutes")} ${t("ago")}`;
    return `${Math.floor(s / 3600)} ${t("hours")} ${Math.round((s % 3600) / 60)} ${t("minutes")} ${t("ago")}`;
  }

  function late(iso) {
    const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
    const days = Math.floor(s / 86400), hours = Math.floor((s % 86400) / 3600);
    return days ? `${days} ${t("days")} ${hours} ${t("hours")}` : `${hours} ${t("hours")} ${Math.round((s % 3600) / 60)} ${t("minutes")}`;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  /** Takes the token from the URL fragment (then hides it) or from this tab's storage. */
  function token(page) {
    const key = `posko.token.${page}`;
    const match = location.hash.match(/token=([^&]+)/);
    if (match) {
      sessionStorage.setItem(key, decodeURIComponent(match[1]));
      history.replaceState(null, "", location.pathname + location.search);
    }
    return sessionStorage.getItem(key);
  }

  function askToken(page, reason) {
    const key = `posko.token.${page}`;
    const box = document.getElementById("token-box");
    box.hidden = false;
    box.querySelector("[data-role=prompt]").textContent = t("tokenPrompt");
    box.querySelector("[data-role=reason]").textContent = reason ? `${t("tokenRefused")}: ${reason}` : "";
    box.querySelector("[data-role=help]").textContent = reason ? t("tokenHelp") : "";
    box.querySelector("button").textContent = t("tokenButton");
    box.querySelector("form").onsubmit = (event) => {
      event.preventDefault();
      sessionStorage.setItem(key, box.querySelector("input").value.trim());
      location.reload();
    };
  }

  /** A connection that authenticates, resumes after `lastSeq`, and reconnects by itself. */
  class Link {
    constructor(tokenValue, onMessage, onState) {
      this.token = tokenValue;
      this.onMessage = onMessage;
      this.onState = onState;
      this.lastSeq = null;
      this.backoff = 500;
      this.ws = null;
      this.lastHeard = 0;
      this.pingEvery = 15000;
      // Commands sent but not yet confirmed (command_sent), by ref: sent again with the same ref
      // after a reconnect; the gateway derives the command's id from it, so the desk applies it once.
      this.unconfirmed = new Map();
      setInterval(() => this.watch(), 5000);
    }

    connect() {
      this.onState(this.lastSeq === null ? "connecting" : "reconnecting");
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const ws = new WebSocket(`${scheme}://${location.host}/ws`);
      this.ws = ws;
      ws.onopen = () => {
        const auth = {type: "auth", token: this.token};
        if (this.lastSeq !== null) auth.resume_after = this.lastSeq;
        ws.send(JSON.stringify(auth));
        this.lastHeard = Date.now();
      };
      ws.onmessage = (event) => {
        const message = JSON.parse(event.data);
        this.lastHeard = Date.now();
        if (message.type === "welcome") {
          this.backoff = 500;
          this.onState("live");
          for (const pending of this.unconfirmed.values()) ws.send(JSON.stringify(pending));
        }
        if (message.type === "command_sent" || message.type === "command_result") this.unconfirmed.delete(message.ref);
        if (message.type === "snapshot" || JOURNAL.has(message.type)) {
          if (this.lastSeq === null || message.seq > this.lastSeq || message.type === "snapshot") {
            this.lastSeq = message.seq;
          }
        }
        this.onMessage(message);
      };
      ws.onclose = (event) => {
        if (this.ws !== ws) return;
        if (event.code === REFUSED) { this.onState("refused", event.reason); return; }
        if (event.code === FLOODED) {
          this.onState("flooded", event.reason);
          setTimeout(() => this.connect(), FLOODED_WAIT_MS + Math.random() * 5000);
          return;
        }
        this.onState("reconnecting");
        setTimeout(() => this.connect(), this.backoff);
        this.backoff = Math.min(this.backoff * 2, 10000);
      };
    }

    /** No message (not even a ping) for more than two ping periods: the link is dead, reconnect. */
    watch() {
      if (this.ws && this.ws.readyState === WebSocket.OPEN && Date.now() - this.lastHeard > 2 * this.pingEvery + 5000) {
        this.ws.close();
      }
    }

    send(message) {
      if (this.ws && this.ws.readyState === WebSocket.OPEN) { this.ws.send(JSON.stringify(message)); return true; }
      return false;
    }

    /** Sends a command (an action of schemas/commands.py); its ref, or null when not connected. */
    command(action, expectedVersion, page) {
      const ref = `${page}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
      const message = {type: "command", ref, page, action,
                       expected_version: expectedVersion === undefined ? null : expectedVersion};
      const sent = this.send(message);
      if (sent) this.unconfirmed.set(ref, message);
      return sent ? ref : null;
    }
  }

  /** A command's answer in words: "KONFLIK: tugas diubah orang lain …" or "BERHASIL: diterapkan". */
  function resultText(m) {
    if (m.type === "command_sent") return t("sent");
    const word = t("statusWord")[m.status] || String(m.status);
    return `${word}: ${m.accepted ? t("applied") : (m.reason || t("refusedCmd"))}`;
  }

  /** Tasks of an incident: how many, how many done, how many past due and not over. */
  function progress(tasks) {
    const live = tasks.filter((x) => x.status !== "dibatalkan");
    const done = live.filter((x) => x.status === "selesai").length;
    const overdue = live.filter((x) => x.status !== "selesai" && new Date(x.due_at) < Date.now()).length;
    return {total: live.length, done, overdue};
  }

  function progressText(p) {
    const late = p.overdue ? `, ${p.overdue} ${t("overdueTasks")}` : "";
    return `${p.done} ${t("of")} ${p.total} ${t("done")}${late}`;
  }

  /** Open incidents highest priority first, then the one with the latest signal. */
  function byPriority(a, b) {
    return (PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority]) || (new Date(b.last_at) - new Date(a.last_at));
  }

  return {t, setLang, lang: () => lang, wibTime, wibDate, ago, late, el, token, askToken, Link, SEVERITY_RANK,
          PRIORITY_RANK, byPriority, resultText, progress, progressText};
})();
