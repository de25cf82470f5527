/* Crisis-room dashboard: reads /api/v1/picture, then follows /api/v1/stream and refreshes on
   every event. All report text is inserted with textContent, never as HTML: it was typed in by
   NSP staff and residents. */
"use strict";

(function () {
  const T = {
    nl: {
      title: "Crisisbeeld", region: "Regionaal crisisbeeld", connecting: "verbinden…",
      live: "LIVE", reconnecting: "verbinding weg — opnieuw verbinden…",
      updated: "bijgewerkt", new_p1: "NIEUWE P1-MELDING", map: "Kaart NSP's",
      p1: "P1 — levensbedreigend", queue: "Open meldingen — urgentst eerst", nsps: "NSP's",
      needs: "Behoeften", questions: "Vragen van bewoners", rumours: "Geruchten",
      reach: "Bereik publieksinformatie", incidents: "Incidenten", cps: "Coördinatiepunten",
      facilities: "Voorzieningen", fac_line: "open {open} · vol {full} · dicht {closed}",
      fac_pending: "meldingen te beoordelen", fac_reach: "NSP's met nieuwste stand",
      fac_state: { open: "open", full: "VOL", closed: "DICHT" },
      col_nsp: "NSP", col_state: "Status", col_power: "Stroom", col_heard: "Gehoord",
      col_gaps: "Mist",
      k_open: "NSP's open", k_limited: "beperkt open", k_closed: "gesloten",
      k_silent: "stil / offline", k_power: "weinig stroom", k_p1: "P1 open",
      k_items: "open hulpvragen",
      none_p1: "Geen open P1-meldingen", none: "Geen",
      reach_unknown: "Nog niet beschikbaar (ontvangst van bulletins wordt nog niet bijgehouden).",
      incidents_unknown: "Incidenten niet te lezen (zie verbinding).",
      incidents_none: "Geen open incidenten",
      reports_n: "meldingen", report_1: "melding", since: "sinds", page: "pagina",
      hidden_labels: "namen verborgen", no_address: "adres onbekend",
      incidents_unplaced: "incident(en) zonder positie",
      reach_none: "Geen actieve bulletins.",
      p1_state: { wait: "wacht", new: "wacht", acknowledged: "bevestigd", dispatched: "hulp onderweg",
        in_progress: "hulp ter plaatse", resolved: "opgelost", closed_duplicate: "dubbel — gesloten",
        closed_not_needed: "niet nodig — gesloten" },
      waiting: "wacht", min: "min", hours_left: "u over", hours: "u", vulnerable: "kwetsbaar",
      stock: "Voorraad", days_left: "dagen over", need: "nodig", volunteers: "vrijwilligers",
      people: "personen", needed_by: "vóór", times: "×", summary: "samenvatting",
      ago: "geleden", silent_for: "stil sinds", never: "nooit", live_data: "live",
      confirmed: "bevestigd", missing: "ontbreekt bij",
      legend_open: "open", legend_limited: "beperkt", legend_closed: "gesloten",
      legend_silent: "stil/offline", legend_p1: "P1-melding",
      no_position: "zonder positie",
      state: { open: "open", limited: "beperkt", closed: "gesloten", none: "geen status" },
      liveness: { online: "online", offline: "offline", silent: "stil", unknown: "nooit gehoord" },
      power: { grid: "net", generator: "aggregaat", battery: "accu", solar: "zon", none: "geen" },
      category: {
        medical: "medisch", fire: "brand", crime: "misdrijf", vulnerable_person: "kwetsbare persoon",
        missing_person: "vermiste persoon", other: "overig", fuel: "brandstof", water: "water",
        medicine: "medicijnen", food: "voedsel", staff: "personeel", equipment: "materieel",
      },
    },
    en: {
      title: "Crisis picture", region: "Regional crisis picture", connecting: "connecting…",
      live: "LIVE", reconnecting: "connection lost — reconnecting…",
      updated: "updated", new_p1: "NEW P1 REPORT", map: "NSP map",
      p1: "P1 — life-threatening", queue: "Open requests — most urgent first", nsps: "NSPs",
      needs: "Needs", questions: "Residents' questions", rumours: "Rumours",
      reach: "Public information reach", incidents: "Incidents", cps: "Coordination points",
      facilities: "Facilities", fac_line: "open {open} · full {full} · closed {closed}",
      fac_pending: "observations to review", fac_reach: "NSPs with the newest state",
      fac_state: { open: "open", full: "FULL", closed: "CLOSED" },
      col_nsp: "NSP", col_state: "State", col_power: "Power", col_heard: "Heard",
      col_gaps: "Gaps",
      k_open: "NSPs open", k_limited: "limited", k_closed: "closed",
      k_silent: "silent / offline", k_power: "low power", k_p1: "P1 open",
      k_items: "open requests",
      none_p1: "No open P1 reports", none: "None",
      reach_unknown: "Not available yet (bulletin receipts are not tracked yet).",
      incidents_unknown: "Incidents cannot be read (see connection).",
      incidents_none: "No open incidents",
      reports_n: "reports", report_1: "report", since: "since", page: "page",
      hidden_labels: "names hidden", no_address: "address unknown",
      incidents_unplaced: "incident(s) without position",
      reach_none: "No active bulletins.",
      p1_state: { wait: "waiting", new: "waiting", acknowledged: "acknowledged", dispatched: "help on its way",
        in_progress: "help on site", resolved: "resolved", closed_duplicate: "duplicate — closed",
        closed_not_needed: "not needed — closed" },
      waiting: "waiting", min: "min", hours_left: "h left", hours: "h", vulnerable: "vulnerable",
      stock: "Stock", days_left: "days left", need: "need", volunteers: "volunteers",
      people: "people", needed_by: "by", times: "×", summary: "summary",
      ago: "ago", silent_for: "silent for", never: "never", live_data: "live",
      confirmed: "confirmed", missing: "missing at",
      legend_open: "open", legend_limited: "limited", legend_closed: "closed",
      legend_silent: "silent/offline", legend_p1: "P1 report",
      no_position: "without position",
      state: { open: "open", limited: "limited", closed: "closed", none: "no status" },
      liveness: { online: "online", offline: "offline", silent: "silent", unknown: "never heard" },
      power: { grid: "grid", generator: "generator", battery: "battery", solar: "solar", none: "none" },
      category: {
        medical: "medical", fire: "fire", crime: "crime", vulnerable_person: "vulnerable person",
        missing_person: "missing person", other: "other", fuel: "fuel", water: "water",
        medicine: "medicine", food: "food", staff: "staff", equipment: "equipment",
      },
    },
  };
  const URGENCY_ORDER = { P1: 1, P2: 2, P3: 3, P4: 4 };
  const COLORS = {
    open: "#2fbf5b", limited: "#f0a30a", closed: "#8a939e", none: "#5b7fa6", silent: "#ff4d4d",
  };

  // The server picked the language (?lang=, cookie, Accept-Language, Dutch) and the zone
  // (noodcore.pagelang): the same rule and clock as the console and the NSP boards.
  const root = document.documentElement;
  let lang = root.dataset.lang || "nl";
  if (!T[lang]) lang = "nl";
  const zone = root.dataset.tz || "Europe/Amsterdam";
  let picture = null;
  let incidents = null;
  let fetchedAt = Date.now();
  let lastEventId = 0;
  let source = null;
  let refreshing = false;
  let refreshAgain = false;
  const fresh = new Map(); // message id -> time it arrived on the stream
  window.__noodnetLoadedAt = window.__noodnetLoadedAt || Date.now();

  const t = (key) => T[lang][key] ?? key;
  const $ = (id) => document.getElementById(id);

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function svg(tag, attrs, text) {
    // The inline <svg> already carries the SVG namespace; borrow it.
    const e = document.createElementNS(document.getElementById("map").namespaceURI, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function hhmm(iso) {
    const d = new Date(iso);
    const opts = { timeZone: zone, hourCycle: "h23" };
    const hm = d.toLocaleTimeString("nl-NL", { ...opts, hour: "2-digit", minute: "2-digit" });
    const day = (x) => x.toLocaleDateString("en-CA", { timeZone: zone });
    if (day(d) === day(new Date())) return hm;
    return d.toLocaleDateString("nl-NL", { timeZone: zone, day: "2-digit", month: "2-digit", year: "numeric" }) + " " + hm;
  }
  function minutesSince(iso) { return Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 60000)); }
  function duration(seconds) {
    const m = Math.floor(seconds / 60);
    if (m < 60) return `${m} ${t("min")}`;
    const h = Math.floor(m / 60);
    return `${h} u ${m % 60} ${t("min")}`.replace(" u ", lang === "nl" ? " u " : " h ");
  }
  function cat(c) { return T[lang].category[c] || (c || "").replace(/_/g, " "); }

  function applyLanguage() {
    document.documentElement.lang = lang;
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    $("lang").textContent = lang === "nl" ? "EN" : "NL";
    setLink(linkState);
    if (lastAlert) alertText(lastAlert);
    if (picture) render(picture);
  }
  $("lang").addEventListener("click", () => {
    lang = lang === "nl" ? "en" : "nl";
    document.cookie = `noodnet_lang=${lang}; max-age=31536000; path=/; samesite=lax`;
    applyLanguage();
  });

  // ------------------------------------------------------------------ data

  async function refresh() {
    if (refreshing) { refreshAgain = true; return; }
    refreshing = true;
    try {
      do {
        refreshAgain = false;
        const r = await fetch("/api/v1/picture", { cache: "no-store" });
        // The sign-in expired or was revoked: a wall screen must not go on showing an old
        // picture as if it were live. Back to the sign-in page, which returns here.
        if (r.status === 401) { signIn(); return; }
        if (!r.ok) throw new Error(`picture: HTTP ${r.status}`);
        picture = await r.json();
        incidents = await loadIncidents();
        fetchedAt = Date.now();
        render(picture);
        if (!source) connect(picture.last_event_id);
      } while (refreshAgain);
    } catch (err) {
      setLink("down", String(err));
      setTimeout(refresh, 3000);
    } finally {
      refreshing = false;
    }
  }

  // Incidents (grouped reports) come from the CP's triage; a region has none of its own.
  async function loadIncidents() {
    try {
      const r = await fetch("/api/v1/geo/incidents.geojson", { cache: "no-store" });
      if (!r.ok) return null;
      return (await r.json()).features;
    } catch (err) {
      return null;
    }
  }

  function signIn() {
    if (source) { source.close(); source = null; }
    location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
  }

  let linkState = "wait";
  function setLink(state, title) {
    linkState = state;
    const link = $("link");
    link.className = `link link-${state}`;
    link.textContent = state === "live" ? t("live") : state === "wait" ? t("connecting") : t("reconnecting");
    link.title = title || "";
  }

  function connect(after) {
    lastEventId = Math.max(lastEventId, after || 0);
    // On its own reconnects the browser sends Last-Event-ID, which the server prefers to ?after.
    source = new EventSource(`/api/v1/stream?after=${lastEventId}`);
    source.onopen = () => setLink("live");
    source.onmessage = (m) => {
      const ev = JSON.parse(m.data);
      lastEventId = Math.max(lastEventId, ev.id);
      onEvent(ev);
    };
    source.onerror = () => {
      setLink("down");
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (the server refused, e.g. 401): fetch the picture again, which
        // tells a refused sign-in from an outage and reconnects the stream once it works.
        source = null;
        setTimeout(() => { if (!source) refresh(); }, 3000);
      }
    };
  }

  function onEvent(ev) {
    if (ev.type === "p1") {
      fresh.set(ev.data.message_id, Date.now());
      showAlert(ev.data);
    }
    refresh();
  }

  let lastAlert = null;
  function alertText(d) {
    $("alert-text").textContent = `${cat(d.category)} — ${d.nsp_name || d.nsp_id}: ${d.text || ""}`;
  }
  function showAlert(d) {
    lastAlert = d;
    alertText(d);
    const alert = $("alert");
    alert.classList.toggle("exercise", !!d.exercise);
    alert.hidden = false;
    alert.style.animation = "none";
    void alert.offsetWidth; // restart the blink
    alert.style.animation = "";
    clearTimeout(showAlert.timer);
    showAlert.timer = setTimeout(() => { alert.hidden = true; }, 30000);
  }

  // ------------------------------------------------------------------ render

  function allNsps(pic) {
    const out = [];
    for (const cp of pic.cps) for (const n of cp.content.nsps) out.push({ ...n, cp_id: cp.cp_id });
    return out;
  }
  function nspNames(pic) {
    const names = new Map();
    for (const n of allNsps(pic)) names.set(`${n.cp_id}/${n.nsp_id}`, n.name || n.nsp_id);
    return names;
  }
  function stateKey(n) {
    if (n.liveness === "silent" || n.liveness === "offline") return "silent";
    return n.state || "none";
  }

  function render(pic) {
    document.title = `Noodnet — ${pic.role === "region" ? t("region") : t("title")} ${pic.node_id}`;
    document.querySelector("[data-i18n=title]").textContent = pic.role === "region" ? t("region") : t("title");
    $("node").textContent = `${pic.role === "region" ? "regio" : "CP"} ${pic.node_id}`;
    $("updated").textContent = `${t("updated")} ${hhmm(pic.generated_at)}`;
    renderKpis(pic);
    renderMap(pic);
    renderP1(pic);
    renderQueue(pic);
    renderNsps(pic);
    renderNeeds(pic);
    renderTopics(pic);
    renderReach(pic);
    renderExercises(pic);
    renderFacilities(pic);
    renderIncidents();
    paginate();
  }

  // Each open exercise apart, marked: the rest of the page counts real data only.
  function renderExercises(pic) {
    const box = $("exercises");
    const panel = $("exercise-panel");
    if (!box || !panel) return;
    clear(box);
    const names = nspNames(pic);
    let any = false;
    for (const cp of pic.cps) {
      for (const ex of cp.content.exercises || []) {
        any = true;
        const sec = el("section", "exercise-block");
        sec.dataset.exercise = ex.exercise_id;
        sec.append(el("h3", "ex-mark", `${ex.mark} — ${ex.name} (${ex.exercise_id})`));
        const list = el("ol", "items");
        if (!ex.open_items.length) list.append(el("li", "empty", t("none")));
        for (const i of ex.open_items.slice(0, 14)) {
          list.append(itemLi({ ...i, cp_id: cp.cp_id, mark: ex.mark }, names, pic.cps.length > 1 ? cp.cp_id : null));
        }
        sec.append(list);
        box.append(sec);
      }
    }
    panel.hidden = !any;
    document.body.classList.toggle("in-exercise", any);
  }

  // Where residents can go (service/facilities/rollup.py): counts per CP, and every facility
  // that is full or closed by name, so the crisis room sees where people are turned away.
  function renderFacilities(pic) {
    const box = $("facilities");
    if (!box) return;
    clear(box);
    const known = pic.cps.filter((cp) => cp.content.facilities);
    if (!known.length) box.append(el("div", "muted", t("none")));
    for (const cp of known) {
      const f = cp.content.facilities;
      const n = (s) => f.by_state[s] || 0;
      box.append(el("div", null, `${cp.cp_id}: ` + t("fac_line").replace("{open}", n("open"))
        .replace("{full}", n("full")).replace("{closed}", n("closed"))));
      if (f.pending_observations) {
        box.append(el("div", "warn", `${f.pending_observations} ${t("fac_pending")}`));
      }
      box.append(el("div", f.nsps_current < f.nsps_targeted ? "warn" : "muted",
        `${f.nsps_current}/${f.nsps_targeted} ${t("fac_reach")}`));
      const list = el("ol", "items compact");
      for (const item of f.items.filter((i) => i.state !== "open").slice(0, 8)) {
        const note = item.state_note ? ` — ${item.state_note}` : "";
        list.append(el("li", "warn", `${t("fac_state")[item.state]}: ${item.name}${note}`));
      }
      box.append(list);
    }
  }

  function renderKpis(pic) {
    const c = pic.nsp_counts;
    const p1 = pic.p1_items.filter((p) => !p.exercise).length; // real P1s only
    const kpis = [
      ["k-open", c.open, t("k_open")],
      ["k-limited", c.limited, t("k_limited")],
      ["k-closed", c.closed, t("k_closed")],
      ["k-silent", c.silent + c.offline, t("k_silent")],
      ["k-power", c.low_power, t("k_power")],
      [p1 ? "k-p1 hot" : "k-p1", p1, t("k_p1")],
      ["k-open-items", pic.open_items_total, t("k_items")],
    ];
    const box = $("kpis");
    clear(box);
    for (const [cls, n, label] of kpis) {
      const k = el("div", `kpi ${cls}`);
      k.append(el("div", "n", n), el("div", "l", label));
      box.append(k);
    }
  }

  function itemLi(item, names, extraMeta, noWaiting) {
    const li = el("li", `u-${item.urgency}`);
    li.dataset.messageId = item.message_id;
    if (item.exercise) {
      li.classList.add("exercise");
      li.dataset.exercise = item.exercise;
      li.append(el("div", "ex-mark", item.mark || "OEFENING OEFENING OEFENING"));
    }
    if (fresh.has(item.message_id) && Date.now() - fresh.get(item.message_id) < 60000) li.classList.add("fresh");
    const head = el("div", "head");
    const where = names.get(`${item.cp_id}/${item.nsp_id}`) || item.nsp_name || item.nsp_id;
    head.append(el("span", `badge ${item.urgency}`, item.urgency), document.createTextNode(` ${cat(item.category)} · ${where}`));
    li.append(head, el("div", "text", item.text));
    const meta = noWaiting ? [] : [`${t("waiting")} ${duration((Date.now() - Date.parse(item.received_at)) / 1000)}`];
    if (item.vulnerable_people) meta.push(`${item.vulnerable_people} ${t("vulnerable")}`);
    if (item.people_involved > 1) meta.push(`${item.people_involved} ${t("people")}`);
    const loc = item.location;
    if (loc && loc.address) meta.push(loc.address);
    if (extraMeta) meta.push(extraMeta);
    li.append(el("div", "meta", meta.join(" · ")));
    return li;
  }

  function p1State(p) {
    // A P1 no operator has acknowledged "waits", counted from its arrival; afterwards the
    // state the CP's operators set, since when.
    const state = p.state || "new";
    const since = state === "new" ? p.received_at : (p.state_since || p.received_at);
    const name = T[lang].p1_state[state] || state;
    if (state === "new") return { state, text: `${name} ${duration((Date.now() - Date.parse(since)) / 1000)}` };
    return { state, text: `${name} ${t("since")} ${hhmm(since)}` };
  }

  function renderP1(pic) {
    const names = nspNames(pic);
    const list = $("p1");
    clear(list);
    // Real P1s above exercise ones (marked), each newest first.
    const open = [...pic.p1_items].sort((a, b) => (!!a.exercise - !!b.exercise) ||
      (Date.parse(b.received_at) - Date.parse(a.received_at)));
    const done = [...(pic.p1_done || [])].sort((a, b) => Date.parse(b.state_since || b.received_at) - Date.parse(a.state_since || a.received_at));
    if (!open.length && !done.length) list.append(el("li", "empty", t("none_p1")));
    for (const p of [...open, ...done]) {
      const li = itemLi({ ...p, urgency: "P1" }, names, pic.cps.length > 1 ? p.cp_id : null, true);
      const st = p1State(p);
      li.dataset.state = st.state;
      li.classList.add(`s-${st.state}`);
      const tag = el("div", `p1-state s-${st.state}`, st.text);
      li.insertBefore(tag, li.children[1] || null);
      list.append(li);
    }
  }

  function renderIncidents() {
    const list = $("incidents");
    clear(list);
    if (incidents === null) { list.append(el("li", "empty", t("incidents_unknown"))); return; }
    const rank = { P1: 1, P2: 2, P3: 3, P4: 4 };
    const rows = [...incidents].sort((a, b) => (rank[a.properties.urgency] - rank[b.properties.urgency]) ||
      (b.properties.report_count - a.properties.report_count) || (a.id - b.id));
    if (!rows.length) list.append(el("li", "empty", t("incidents_none")));
    for (const f of rows) {
      const p = f.properties;
      const li = el("li", `u-${p.urgency}`);
      li.dataset.incidentId = f.id;
      li.dataset.reportCount = p.report_count;
      const n = p.report_count === 1 ? `1 ${t("report_1")}` : `${p.report_count} ${t("reports_n")}`;
      const head = el("div", "head");
      head.append(el("span", `badge ${p.urgency}`, p.urgency),
        document.createTextNode(` #${f.id} ${cat(p.category)} · `), el("span", "incident-count", n));
      li.append(head, el("div", "meta",
        `${p.address || t("no_address")} · ${T[lang].p1_state[p.state] || p.state}`));
      list.append(li);
    }
  }

  // ------------------------------------------------------------------ paging
  // A wall screen cannot scroll: a list longer than its panel is cut into pages that turn by
  // themselves every few seconds, with "pagina 1/3" in the panel's heading.
  const PAGE_SECONDS = 8;
  const pageOf = new Map(); // list id -> page shown
  const PAGED = ["p1", "queue", "incidents", "needs", "nsps"];

  function paginate() {
    for (const id of PAGED) {
      const list = $(id);
      if (!list) continue;
      const rows = [...list.children];
      rows.forEach((r) => { r.hidden = false; delete r.dataset.page; });
      const panel = list.closest(".panel");
      const pager = panel.querySelector(".pager");
      const bottom = panel.getBoundingClientRect().bottom - 8;
      const avail = bottom - list.getBoundingClientRect().top;
      const pages = [];
      let pageTop = null; // top of the first row of the page being filled
      for (const r of rows) {
        const box = r.getBoundingClientRect();
        if (pageTop === null || box.bottom - pageTop > avail) {
          pages.push([]);
          pageTop = box.top;
        }
        pages[pages.length - 1].push(r);
      }
      if (pages.length <= 1) {
        pageOf.delete(id);
        if (pager) pager.textContent = "";
        continue;
      }
      const shown = Math.min(pageOf.get(id) || 0, pages.length - 1);
      pageOf.set(id, shown);
      pages.forEach((rowsOfPage, i) => rowsOfPage.forEach((r) => { r.dataset.page = String(i + 1); r.hidden = i !== shown; }));
      list.dataset.pages = String(pages.length);
      if (pager) pager.textContent = `${t("page")} ${shown + 1}/${pages.length}`;
    }
  }

  function turnPages() {
    for (const id of PAGED) {
      const list = $(id);
      if (!list || !list.dataset.pages || !pageOf.has(id)) continue;
      pageOf.set(id, (pageOf.get(id) + 1) % Number(list.dataset.pages));
    }
    paginate();
  }

  function renderQueue(pic) {
    const names = nspNames(pic);
    const items = [];
    for (const cp of pic.cps) for (const i of cp.content.open_items) items.push({ ...i, cp_id: cp.cp_id });
    items.sort((a, b) => (URGENCY_ORDER[a.urgency] - URGENCY_ORDER[b.urgency]) ||
      (Date.parse(a.received_at) - Date.parse(b.received_at)));
    const list = $("queue");
    clear(list);
    $("queue-count").textContent = String(pic.open_items_total);
    if (!items.length) list.append(el("li", "empty", t("none")));
    for (const i of items.slice(0, 60)) list.append(itemLi(i, names, pic.cps.length > 1 ? i.cp_id : null));
  }

  function renderNsps(pic) {
    const body = $("nsps");
    clear(body);
    const nsps = allNsps(pic).sort((a, b) => {
      const bad = (n) => (n.liveness === "silent" || n.liveness === "offline" ? 0 : n.low_power ? 1 : 2);
      return bad(a) - bad(b) || (a.name || a.nsp_id).localeCompare(b.name || b.nsp_id);
    });
    for (const n of nsps) {
      const tr = el("tr");
      tr.dataset.nspId = n.nsp_id;
      const name = el("td", "name");
      const dot = el("span", "dot");
      dot.style.background = COLORS[stateKey(n)];
      name.append(dot, document.createTextNode(n.name || n.nsp_id));
      name.title = `${n.cp_id} / ${n.nsp_id}`;
      const state = el("td", null, `${T[lang].state[n.state || "none"]}`);
      const power = el("td");
      if (n.power_source) {
        let text = T[lang].power[n.power_source] || n.power_source;
        if (n.power_hours_left !== null && n.power_hours_left !== undefined) text += ` · ${Math.round(n.power_hours_left)} ${t("hours")}`;
        power.textContent = text;
        if (n.low_power) power.className = "warn";
      } else power.textContent = "—";
      const heard = el("td");
      if (n.liveness === "silent" || n.liveness === "offline") {
        heard.className = "bad";
        heard.textContent = `${T[lang].liveness[n.liveness]} ${n.silent_for_seconds != null ? duration(n.silent_for_seconds + (Date.now() - fetchedAt) / 1000) : ""}`;
      } else if (n.last_seen) {
        heard.textContent = duration(n.silent_for_seconds + (Date.now() - fetchedAt) / 1000);
      } else heard.textContent = T[lang].liveness.unknown;
      const gaps = el("td", n.missing_count ? "warn" : null, n.missing_count ? String(n.missing_count) : "0");
      tr.append(name, state, power, heard, gaps);
      body.append(tr);
    }
  }

  function renderNeeds(pic) {
    const names = nspNames(pic);
    const list = $("needs");
    clear(list);
    const needs = [];
    for (const cp of pic.cps) for (const n of cp.content.resource_needs) needs.push({ ...n, cp_id: cp.cp_id });
    needs.sort((a, b) => (URGENCY_ORDER[a.urgency] - URGENCY_ORDER[b.urgency]) ||
      (Date.parse(a.received_at) - Date.parse(b.received_at)));
    if (!needs.length) list.append(el("li", "empty", t("none")));
    for (const n of needs.slice(0, 40)) {
      const li = el("li", `u-${n.urgency}`);
      const head = el("div", "head");
      const where = names.get(`${n.cp_id}/${n.nsp_id}`) || n.nsp_id;
      head.append(el("span", `badge ${n.urgency}`, n.urgency), document.createTextNode(` ${cat(n.resource)} · ${where}`));
      li.append(head, el("div", "text", `${n.quantity} ${n.unit} ${n.item}`));
      if (n.needed_by) li.append(el("div", "meta", `${t("needed_by")} ${hhmm(n.needed_by)}`));
      list.append(li);
    }
    // Scarce goods (service/goods): the items with the fewest days left first.
    const goods = [];
    for (const cp of pic.cps) for (const g of (cp.content.goods || [])) goods.push({ ...g, cp_id: cp.cp_id });
    goods.sort((a, b) => (a.days_left ?? 1e9) - (b.days_left ?? 1e9));
    for (const g of goods.slice(0, 6)) {
      const li = el("li", g.nsps_low.length ? "u-P2 goods" : "u-P4 goods");
      const days = g.days_left != null ? ` · ${g.days_left} ${t("days_left")}` : "";
      const need = g.need ? ` · ${t("need")} ${g.need} ${g.unit}` : "";
      li.append(el("div", "head", `${t("stock")} · ${g.item} · ${g.cp_id}`),
        el("div", "text", `${g.on_hand} ${g.unit}${days}${need}`));
      if (g.nsps_low.length) li.append(el("div", "meta", g.nsps_low.join(", ")));
      list.append(li);
    }
    let volunteers = 0;
    for (const cp of pic.cps) if (cp.content.citizen_aid) volunteers += cp.content.citizen_aid.volunteers;
    if (volunteers) list.append(el("li", "u-P4 aid", `${volunteers} ${t("volunteers")}`));
  }

  function mergedTopics(pic, field) {
    const byText = new Map();
    for (const cp of pic.cps) {
      for (const topic of cp.content[field]) {
        const key = topic.text.toLowerCase();
        const cur = byText.get(key) || { text: topic.text, count: 0, nsps: new Set() };
        cur.count += topic.count;
        topic.nsp_ids.forEach((id) => cur.nsps.add(`${cp.cp_id}/${id}`));
        byText.set(key, cur);
      }
    }
    return [...byText.values()].sort((a, b) => b.count - a.count);
  }

  function renderTopics(pic) {
    for (const [field, id] of [["information_needs", "questions"], ["rumours", "rumours"]]) {
      const list = $(id);
      clear(list);
      const topics = mergedTopics(pic, field);
      if (!topics.length) list.append(el("li", "empty", t("none")));
      for (const topic of topics.slice(0, 3)) {
        const li = el("li");
        li.append(el("div", "text", `${topic.count}${t("times")} ${topic.text}`));
        list.append(li);
      }
    }
  }

  function renderReach(pic) {
    const reach = $("reach");
    clear(reach);
    const known = pic.cps.filter((cp) => cp.content.bulletin_reach);
    if (!known.length) reach.textContent = t("reach_unknown");
    else if (!known.some((cp) => cp.content.bulletin_reach.bulletins.length)) reach.textContent = t("reach_none");
    for (const cp of known) {
      for (const b of cp.content.bulletin_reach.bulletins) {
        const line = el("div", b.confirmed < b.targeted ? "warn" : null,
          `${b.bulletin_id} v${b.version}: ${b.confirmed}/${b.targeted} ${t("confirmed")}`);
        reach.append(line);
      }
    }
    const cps = $("cps");
    clear(cps);
    for (const cp of pic.cps) {
      const age = cp.source === "live" ? t("live_data") : `#${cp.summary_seq} · ${duration(cp.age_seconds)} ${t("ago")}`;
      const li = el("li", cp.age_seconds > 900 ? "warn" : null, `${cp.cp_id}: ${cp.content.nsp_counts.total} NSP · ${age}`);
      cps.append(li);
    }
  }

  // ------------------------------------------------------------------ map

  // The base map: tiles the CP serves from the region's own MBTiles file (Leaflet, vendored),
  // or, when none is loaded, the hand-drawn sketch in basemap.js.
  let tileInfo = null;
  let lmap = null;
  async function loadBasemap() {
    try {
      const r = await fetch("/api/v1/basemap", { cache: "no-store" });
      tileInfo = r.ok ? await r.json() : null;
    } catch (err) {
      tileInfo = null;
    }
  }
  function tilesFor(b) {
    if (!tileInfo || !tileInfo.available || !window.L) return null;
    if (!lmap) {
      $("tiles").hidden = false;
      lmap = window.L.map("tiles", {
        // No attribution control: its prefix links to Leaflet's website; the tiles' own
        // attribution is in the map note instead.
        zoomControl: false, attributionControl: false, dragging: false, scrollWheelZoom: false, doubleClickZoom: false,
        boxZoom: false, keyboard: false, touchZoom: false, zoomSnap: 0.25,
        fadeAnimation: false, zoomAnimation: false, markerZoomAnimation: false,
      });
      window.L.tileLayer("/api/v1/basemap/tiles/{z}/{x}/{y}", {
        minZoom: tileInfo.minzoom, maxNativeZoom: tileInfo.maxzoom, maxZoom: 19,
      }).addTo(lmap);
      lmap.on("load moveend", () => { if (picture && !drawingMap) renderMap(picture); });
      document.body.classList.add("map-tiles");
    }
    lmap.invalidateSize(false);
    const key = JSON.stringify(b);
    if (key !== tilesFor.fitted) {
      tilesFor.fitted = key;
      drawingMap = true;
      lmap.fitBounds([[b.south, b.west], [b.north, b.east]], { animate: false, padding: [30, 30] });
      drawingMap = false;
    }
    return (lat, lon) => { const p = lmap.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; };
  }
  let drawingMap = false;

  function renderMap(pic) {
    const map = $("map");
    clear(map);
    // Draw in screen pixels: the viewBox is the panel's own size, so text sizes are real px.
    const W = Math.max(300, Math.round(map.clientWidth || 1000));
    const H = Math.max(200, Math.round(map.clientHeight || 700));
    map.setAttribute("viewBox", `0 0 ${W} ${H}`);
    const M = 70;
    const base = window.NOODNET_BASEMAP;
    const nsps = allNsps(pic);
    const located = nsps.filter((n) => n.lat !== null && n.lon !== null);
    const placed = (incidents || []).filter((f) => f.geometry && f.geometry.coordinates);
    const points = [...located.map((n) => [n.lat, n.lon]),
      ...placed.map((f) => [f.geometry.coordinates[1], f.geometry.coordinates[0]])];
    let b = { ...base.bounds };
    if (points.length) {
      // Zoom to what is there, but never closer than a town's width: the map must still orient.
      const lats = points.map((p) => p[0]), lons = points.map((p) => p[1]);
      const minLat = 0.08, minLon = 0.14;
      let south = Math.min(...lats), north = Math.max(...lats);
      let west = Math.min(...lons), east = Math.max(...lons);
      if (north - south < minLat) { const c = (north + south) / 2; south = c - minLat / 2; north = c + minLat / 2; }
      if (east - west < minLon) { const c = (east + west) / 2; west = c - minLon / 2; east = c + minLon / 2; }
      const padLat = (north - south) * 0.12, padLon = (east - west) * 0.12;
      b = { south: south - padLat, north: north + padLat, west: west - padLon, east: east + padLon };
    }
    let px = tilesFor(b);
    const sketch = !px;
    if (sketch) {
      const k = Math.cos(((b.south + b.north) / 2) * Math.PI / 180);
      const sx = (W - 2 * M) / ((b.east - b.west) * k), sy = (H - 2 * M) / (b.north - b.south);
      const s = Math.min(sx, sy);
      const ox = (W - (b.east - b.west) * k * s) / 2, oy = (H - (b.north - b.south) * s) / 2;
      px = (lat, lon) => [ox + (lon - b.west) * k * s, oy + (b.north - lat) * s];
    }
    const path = (pts) => pts.map(([la, lo], i) => { const [x, y] = px(la, lo); return `${i ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`; }).join(" ");

    map.append(svg("rect", { x: 0, y: 0, width: W, height: H, class: "map-bg" }));
    // A small map (1366x768) gets smaller type, so more names find room.
    const small = W * H < 350000;
    map.classList.toggle("small", small);
    const lines = svg("g", { class: "map-lines" });
    const markers = svg("g", { class: "map-markers" });
    const labels = svg("g", { class: "map-labels" });
    map.append(lines, markers, labels);

    // Every text on the map is placed by one greedy pass, most important first, where it
    // covers no marker and no other text; what finds no room moves out on a leader line, and
    // what still finds none is left off (the legend counts it). Nothing ever overlaps.
    const taken = [];
    const free = (a) => a.x >= 2 && a.y >= 2 && a.x + a.w <= W - 2 && a.y + a.h <= H - 2 &&
      !taken.some((o) => a.x < o.x + o.w && o.x < a.x + a.w && a.y < o.y + o.h && o.y < a.y + a.h);
    let hiddenLabels = 0;
    function place(node, spots, from) {
      labels.append(node);
      const bb = node.getBBox();
      const w = bb.width + 4, h = bb.height + 2;
      for (const spot of spots) {
        const sx = spot.anchor === "end" ? spot.x - w : spot.anchor === "middle" ? spot.x - w / 2 : spot.x;
        const sy = spot.valign === "bottom" ? spot.y - h : spot.valign === "middle" ? spot.y - h / 2 : spot.y;
        const box = { x: sx, y: sy, w, h };
        if (!free(box)) continue;
        node.setAttribute("transform", `translate(${(sx + 2 - bb.x).toFixed(1)},${(sy + 1 - bb.y).toFixed(1)})`);
        taken.push(box);
        if (spot.leader && from) {
          const tx = Math.max(box.x, Math.min(from[0], box.x + w)), ty = Math.max(box.y, Math.min(from[1], box.y + h));
          lines.append(svg("line", { x1: from[0], y1: from[1], x2: tx, y2: ty, class: "leader" }));
        }
        return true;
      }
      node.remove();
      return false;
    }
    function around(x, y, r) {
      const out = [];
      [r + 6, r + 34, r + 70, r + 120].forEach((d, ring) => {
        const leader = ring > 0;
        out.push({ x: x + d, y, valign: "middle", leader }, { x: x - d, y, anchor: "end", valign: "middle", leader },
          { x, y: y - d, anchor: "middle", valign: "bottom", leader }, { x, y: y + d, anchor: "middle", leader },
          { x: x + d * 0.7, y: y - d * 0.7, valign: "bottom", leader }, { x: x - d * 0.7, y: y - d * 0.7, anchor: "end", valign: "bottom", leader },
          { x: x + d * 0.7, y: y + d * 0.7, leader }, { x: x - d * 0.7, y: y + d * 0.7, anchor: "end", leader });
      });
      return out;
    }

    if (sketch) {
      // graticule lines every 0.05 degrees (their labels come last)
      const step = 0.05;
      var gratLabels = [];
      for (let la = Math.ceil((b.south - 0.1) / step) * step; la < b.north + 0.1; la += step) {
        const [, y] = px(la, b.west);
        if (y < 20 || y > H) continue;
        lines.append(svg("line", { x1: 0, x2: W, y1: y, y2: y, class: "grat" }));
        gratLabels.push([`${la.toFixed(2)}°N`, 6, y - 4]);
      }
      for (let lo = Math.ceil((b.west - 0.2) / step) * step; lo < b.east + 0.2; lo += step) {
        const [x] = px(b.south, lo);
        if (x < 0 || x > W) continue;
        lines.append(svg("line", { x1: x, x2: x, y1: 0, y2: H, class: "grat" }));
        gratLabels.push([`${lo.toFixed(2)}°E`, x + 4, H - 6]);
      }
      for (const a of base.areas) lines.append(svg("path", { d: `${path(a.points)} Z`, class: "area" }));
      for (const r of base.rivers) lines.append(svg("path", { d: path(r.points), class: "river" }));
      for (const r of base.roads) lines.append(svg("path", { d: path(r.points), class: "road" }));
    }

    // markers first: labels keep off them
    const nspAt = [];
    for (const n of located) {
      const [x, y] = px(n.lat, n.lon);
      const g = svg("g", { class: "nsp-marker" });
      g.dataset.nspId = n.nsp_id;
      g.dataset.cpId = n.cp_id;
      g.dataset.state = stateKey(n);
      g.append(svg("circle", { cx: x, cy: y, r: 18, fill: COLORS[stateKey(n)], stroke: "#0b0f14", "stroke-width": 3 }));
      if (n.liveness === "silent" || n.liveness === "offline") {
        g.append(svg("circle", { cx: x, cy: y, r: 27, class: "nsp-ring-silent" }));
      }
      if (n.low_power) g.append(svg("path", { d: `M${x - 2},${y - 10} h4 v12 h-4 Z M${x - 2},${y + 5} h4 v4 h-4 Z`, fill: "#111" }));
      g.append(svg("title", {}, `${n.name || n.nsp_id} (${n.cp_id}/${n.nsp_id})`));
      markers.append(g);
      taken.push({ x: x - 20, y: y - 20, w: 40, h: 40 });
      nspAt.push([n, x, y]);
    }
    const incAt = [];
    for (const f of placed) {
      const [lon, lat] = f.geometry.coordinates;
      const [x, y] = px(lat, lon);
      const p = f.properties;
      const r = 11;
      const d = svg("path", { d: `M${x},${y - r} L${x + r},${y} L${x},${y + r} L${x - r},${y} Z`, class: `incident-marker u-${p.urgency}` });
      d.dataset.incidentId = f.id;
      d.append(svg("title", {}, `#${f.id} ${cat(p.category)}: ${p.description}`));
      markers.append(d);
      taken.push({ x: x - r, y: y - r, w: 2 * r, h: 2 * r });
      incAt.push([f, x, y]);
    }
    for (const p of pic.p1_items) {
      const loc = p.location;
      if (!loc || loc.lat == null || loc.lon == null) continue;
      const [x, y] = px(loc.lat, loc.lon);
      const r = 13;
      const tri = svg("path", { d: `M${x},${y - r} L${x + r},${y + r * 0.8} L${x - r},${y + r * 0.8} Z`, class: "p1-marker" });
      tri.dataset.messageId = p.message_id;
      if (fresh.has(p.message_id)) tri.classList.add("fresh");
      tri.append(svg("title", {}, `P1 ${cat(p.category)}: ${p.text}`));
      markers.append(tri);
      taken.push({ x: x - r, y: y - r, w: 2 * r, h: 2 * r });
    }

    const unlocated = nsps.length - located.length;
    const unplaced = (incidents || []).length - placed.length;
    const note = [sketch ? base.name : [tileInfo.name, tileInfo.attribution].filter(Boolean).join(" · "),
      unlocated ? `${unlocated} NSP ${t("no_position")}` : null,
      unplaced ? `${unplaced} ${t("incidents_unplaced")}` : null].filter(Boolean).join(" · ");
    if (note) place(svg("text", { class: "map-note" }, note), [{ x: W - 6, y: 4, anchor: "end" }, { x: W - 6, y: 30, anchor: "end" }]);

    for (const [n, x, y] of nspAt) {
      const name = n.name || n.nsp_id;
      let sub = T[lang].state[n.state || "none"];
      if (n.liveness === "silent" || n.liveness === "offline") sub = `${T[lang].liveness[n.liveness]} ${duration(n.silent_for_seconds || 0)}`;
      else if (n.power_hours_left != null && n.power_source !== "grid") sub += ` · ${Math.round(n.power_hours_left)} ${t("hours_left")}`;
      const g = svg("g", { class: "nsp-text" });
      g.dataset.nspId = n.nsp_id;
      g.append(svg("text", { x: 0, y: 0, class: "nsp-label" }, name), svg("text", { x: 0, y: small ? 19 : 25, class: "nsp-sub" }, sub));
      if (!place(g, around(x, y, 20), [x, y])) hiddenLabels += 1;
    }
    for (const [f, x, y] of incAt) {
      const p = f.properties;
      if (p.report_count < 2) continue; // one report: the marker (and the lists) say enough
      const label = svg("text", { class: "incident-label" }, `#${f.id} ${cat(p.category)} (${p.report_count})`);
      label.dataset.incidentId = f.id;
      if (!place(label, around(x, y, 11), [x, y])) hiddenLabels += 1;
    }
    if (sketch) {
      for (const r of base.rivers) {
        const [x, y] = px(...r.label_at);
        place(svg("text", { class: "river-label" }, r.name), [{ x, y: y - 10, anchor: "middle", valign: "bottom" }, { x, y: y + 10, anchor: "middle" }]);
      }
      for (const r of base.roads) {
        const [x, y] = px(...r.label_at);
        place(svg("text", { class: "road-label" }, r.name), [{ x: x + 8, y, valign: "middle" }, { x: x - 8, y, anchor: "end", valign: "middle" }]);
      }
      for (const p of base.places) {
        const [x, y] = px(p.lat, p.lon);
        if (x < 0 || x > W || y < 0 || y > H) continue;
        const label = svg("text", { class: "place" }, p.name);
        if (p.size) label.setAttribute("style", `font-size:${18 * p.size}px;font-weight:700`);
        if (place(label, [{ x: x + 5, y: y + 2 }, { x: x - 5, y: y + 2, anchor: "end" }, { x: x + 5, y: y - 2, valign: "bottom" }])) {
          lines.append(svg("circle", { cx: x, cy: y, r: 3, class: "place-dot" }));
        }
      }
      for (const [text, x, y] of gratLabels) place(svg("text", { class: "grat-label" }, text), [{ x, y, valign: "bottom" }]);
    }

    const legend = $("legend");
    clear(legend);
    for (const [key, label] of [["open", "legend_open"], ["limited", "legend_limited"], ["closed", "legend_closed"], ["silent", "legend_silent"]]) {
      const i = el("i");
      i.style.background = COLORS[key];
      legend.append(i, document.createTextNode(t(label)));
    }
    if (hiddenLabels) legend.append(el("span", "hidden-labels", ` · ${hiddenLabels} ${t("hidden_labels")}`));
    map.dataset.hiddenLabels = String(hiddenLabels);
  }

  // ------------------------------------------------------------------ start

  function tick() {
    $("clock").textContent = new Date().toLocaleTimeString("nl-NL",
      { timeZone: zone, hourCycle: "h23", hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }
  setInterval(tick, 1000);
  tick();
  // Waiting times and silence grow without events: re-read the picture now and then.
  setInterval(refresh, 30000);
  setInterval(turnPages, PAGE_SECONDS * 1000);
  window.addEventListener("resize", () => { if (picture) render(picture); });
  window.__noodnetTurnPages = turnPages; // for tests: turn the pages without waiting
  applyLanguage();
  loadBasemap().then(refresh);
})();
