// The briefing for the governor's meeting screen (1920×1080): the gateway writes the briefing
// (documents/briefing.py, the same words as the PDF) and this page shows it, fetched again
// whenever the room changes (any message on the websocket) and every 30 s (what is overdue moves
// with the clock). The last briefing's time is kept in this browser (default: 24 hours ago).
"use strict";

(() => {
  const {el, wibTime} = Posko;
  const WORDS = {
    id: {title: "Briefing situasi untuk rapat pimpinan", since: "Briefing terakhir (WIB)", last24: "24 jam lalu",
         pdf: "Unduh PDF", loading: "Memuat…", updated: "Diperbarui", failed: "Briefing tidak dapat dimuat"},
    en: {title: "Situation briefing for the leadership meeting", since: "Last briefing (WIB)", last24: "24 hours ago",
         pdf: "Download PDF", loading: "Loading…", updated: "Updated", failed: "The briefing could not be loaded"},
  };
  const w = (key) => WORDS[Posko.lang()][key];
  const SINCE_KEY = "posko.briefingSince";
  const state = {link: "connecting", since: null, loaded: null, problem: null, fetching: false, again: false};
  window.poskoBriefing = state; // for people and tests inspecting a running page
  const token = Posko.token("briefing");

  // A datetime-local field read as WIB (UTC+7), whatever the screen computer's own zone.
  function fromWib(value) { return new Date(`${value}:00+07:00`); }
  function toWib(date) { return new Date(date.getTime() + 7 * 3600000).toISOString().slice(0, 16); }

  function since() {
    const kept = localStorage.getItem(SINCE_KEY);
    return kept ? new Date(kept) : new Date(Date.now() - 24 * 3600000);
  }

  function query(fmt) {
    const params = new URLSearchParams({since: since().toISOString(), lang: Posko.lang()});
    if (fmt === "html") params.set("fragment", "1");
    return `/briefing.${fmt}?${params}`;
  }

  async function fetchDocument(fmt) {
    const response = await fetch(query(fmt), {headers: {Authorization: `Bearer ${token}`}});
    if (!response.ok) throw new Error(`${response.status}: ${await response.text()}`);
    return response;
  }

  /** Fetch the briefing again; one request at a time, and one more if something changed meanwhile. */
  async function refresh() {
    if (state.fetching) { state.again = true; return; }
    state.fetching = true;
    try {
      const html = await (await fetchDocument("html")).text();
      // The gateway escapes every text of the briefing (documents/briefing.py to_html).
      document.getElementById("briefing").innerHTML = html;
      state.loaded = new Date();
      state.problem = null;
    } catch (error) {
      state.problem = String(error.message || error);
    } finally {
      state.fetching = false;
      render();
      if (state.again) { state.again = false; refresh(); }
    }
  }

  let timer = null;
  function soon() { if (!timer) timer = setTimeout(() => { timer = null; refresh(); }, 300); }

  async function savePdf() {
    try {
      const response = await fetchDocument("pdf");
      const url = URL.createObjectURL(await response.blob());
      const name = (response.headers.get("Content-Disposition") || "").match(/filename="([^"]+)"/);
      el("a", {href: url, download: name ? name[1] : "briefing.pdf"}).click();
    } catch (error) {
      state.problem = String(error.message || error);
      render();
    }
  }

  function render() {
    document.querySelectorAll("[data-w]").forEach((n) => { n.textContent = w(n.dataset.w); });
    document.getElementById("lang").textContent = Posko.lang() === "id" ? "EN" : "ID";
    const linkNode = document.getElementById("link-state");
    linkNode.dataset.state = state.link;
    linkNode.textContent = `● ${Posko.t(state.link)}`;
    document.getElementById("clock").textContent = wibTime(new Date().toISOString());
    const status = document.getElementById("status");
    status.className = state.problem ? "bad" : "";
    status.textContent = state.problem ? `${w("failed")}: ${state.problem}`
      : state.loaded ? `${w("updated")} ${wibTime(state.loaded.toISOString(), true)}` : w("loading");
  }

  const sinceInput = document.getElementById("since");
  sinceInput.value = toWib(since());
  sinceInput.onchange = () => {
    if (!sinceInput.value) return;
    localStorage.setItem(SINCE_KEY, fromWib(sinceInput.value).toISOString());
    refresh();
  };
  document.getElementById("since-24").onclick = () => {
    localStorage.removeItem(SINCE_KEY);
    sinceInput.value = toWib(since());
    refresh();
  };
  document.getElementById("pdf").onclick = savePdf;
  document.getElementById("lang").onclick = () => { Posko.setLang(Posko.lang() === "id" ? "en" : "id"); render(); refresh(); };
  Posko.setLang(Posko.lang());
  render();
  if (!token) { Posko.askToken("briefing"); return; }
  const link = new Posko.Link(token, () => soon(), (next, reason) => {
    state.link = next;
    if (next === "refused") Posko.askToken("briefing", reason);
    render();
  });
  link.connect();
  setInterval(() => { render(); refresh(); }, 30000);
})();
