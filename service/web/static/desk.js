// The information desk: bulletins (from templates, in several languages, to chosen NSPs, with a
// preview as the board and the A4 printout show them), their reach per NSP as it fills in,
// CAP import/export, and tasks for NSP staff. Everything goes through the CP's JSON API with
// the sign-in cookie, so the desk can do exactly what the API allows; every refusal is shown
// in words. Text only through textContent (never innerHTML).
(function () {
  "use strict";

  const cfg = JSON.parse(document.getElementById("desk-config").textContent);
  const T = cfg.text;
  const canAct = !!cfg.can_act;
  const locale = cfg.lang === "en" ? "en-GB" : "nl-NL";
  const $ = (id) => document.getElementById(id);
  // t, el and api are the shared ones (pagekit.js, loaded before this script).
  const t = window.noodnetPage.texts(T);
  const { el, api } = window.noodnetPage;
  const LANGS = ["nl", "en", "x"];
  const FIELDS = ["headline", "text", "instruction", "area", "sender_name"];

  function time(iso, full) {
    if (!iso) return "";
    const d = new Date(iso);
    const hm = d.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit", timeZone: cfg.time_zone });
    const day = d.toLocaleDateString(locale, { day: "2-digit", month: "2-digit", timeZone: cfg.time_zone });
    const today = new Date().toLocaleDateString(locale, { day: "2-digit", month: "2-digit", timeZone: cfg.time_zone });
    return full || day !== today ? `${day} ${hm}` : hm;
  }

  function explain(res) {
    if (res.network) return t("err_network") + ": " + res.network;
    const d = res.data && res.data.detail;
    let said = "";
    if (typeof d === "string") said = d;
    else if (Array.isArray(d)) said = d.map((e) => `${(e.loc || []).filter((p) => p !== "body").join(".")}: ${e.msg}`).join("; ");
    const head = res.status === 401 ? t("err_401") : res.status === 403 ? t("err_403")
      : res.status === 404 ? t("err_404") : res.status === 409 ? t("err_409")
      : res.status === 422 ? t("err_422") : t("err_server", { status: res.status });
    return said ? `${head}. ${t("server_said")} ${said}` : `${head}.`;
  }
  function flash(kind, text, where) {
    const box = $(where || "desk-flash");
    box.textContent = text;
    box.className = "flash " + kind;
    box.hidden = false;
  }

  // ------------------------------------------------------------------ NSPs (targets)

  let nsps = [];
  async function loadNsps() {
    const res = await api("GET", "/api/v1/nsps");
    if (!res.ok) return;
    nsps = res.data.slice().sort((a, b) => (a.name || a.nsp_id).localeCompare(b.name || b.nsp_id));
    for (const [box, name] of [["targets", "target"], ["t-targets", "ttarget"]]) {
      const root = $(box);
      if (!root) continue;
      const ticked = new Set([...root.querySelectorAll(`input[name=${name}]:checked`)].map((i) => i.value));
      root.replaceChildren(...nsps.map((n) => el("label", { class: "target" },
        el("input", { type: "checkbox", name, value: n.nsp_id, checked: ticked.has(n.nsp_id) }),
        ` ${n.name || n.nsp_id} `, el("span", { class: "muted" }, `(${n.nsp_id})`))));
    }
  }
  const nspName = (id) => { const n = nsps.find((x) => x.nsp_id === id); return n && n.name ? n.name : id; };
  function chosen(box, name, all) {
    if (all && $(all).checked) return null;
    return [...$(box).querySelectorAll(`input[name=${name}]:checked`)].map((i) => i.value);
  }

  // ------------------------------------------------------------------ the editor

  let editing = null; // { bulletin_id, version } when writing a new version
  function applyTemplate() {
    const tpl = cfg.templates.find((x) => x.key === $("template").value);
    if (!tpl) return;
    $("b-urgency").value = tpl.urgency;
    for (const lang of ["nl", "en"]) {
      for (const f of ["headline", "text", "instruction", "area"]) $(`${lang}-${f}`).value = tpl[lang][f] || "";
    }
    $("en-on").checked = true;
    syncLangs();
    preview();
  }
  function syncLangs() {
    $("en-fields").disabled = !$("en-on").checked;
    $("x-fields").disabled = !$("x-on").checked;
  }
  function draftTexts() {
    const out = [];
    for (const lang of LANGS) {
      if (lang === "en" && !$("en-on").checked) continue;
      if (lang === "x" && !$("x-on").checked) continue;
      const text = { language: lang === "x" ? $("x-language").value.trim().toLowerCase() : lang };
      for (const f of FIELDS) {
        const v = $(`${lang}-${f}`).value.trim();
        if (v) text[f] = v;
      }
      out.push(text);
    }
    return out;
  }
  function draft() {
    const body = { urgency: $("b-urgency").value, texts: draftTexts() };
    const until = $("b-until").value;
    if (until) body.valid_until = new Date(until).toISOString();
    const targets = chosen("targets", "target", "all-nsps");
    if (targets !== null) body.target_nsps = targets;
    const note = $("b-note").value.trim();
    if (note) body.note = note;
    return body;
  }
  // What must be right before anything is sent (the API checks again, and says so in words).
  function problems(body) {
    const out = [];
    if (body.target_nsps && !body.target_nsps.length) out.push(t("need_target"));
    for (const text of body.texts) {
      if (!text.language) out.push(t("need_language"));
      if (!text.headline || !text.text) out.push(t("need_text", { lang: text.language || "?" }));
      for (const f of FIELDS) {
        const left = [...new Set((text[f] || "").match(/\[[^\]]+\]/g) || [])];
        if (left.length) out.push(t("fill_in", { lang: text.language, field: t("field_" + f), what: left.join(", ") }));
      }
    }
    return out;
  }

  // ------------------------------------------------------------------ preview (board, A4)
  // The same structure and classes as the gateway's board (gateway/web/templates/
  // _board_content.html) and the same rules for screen and print (desk.css copies them).

  function paragraphs(tag, text, cls) {
    return (text || "").split("\n").filter((p) => p.trim()).map((p) => el(tag, { class: cls }, p));
  }
  function article(body, lang, version) {
    const b = cfg.board[lang === "nl" ? "nl" : "en"];
    const text = body.texts.find((x) => x.language === lang) || body.texts.find((x) => x.language === "nl");
    if (!text) return el("p", {}, "—");
    const fallback = text.language !== lang;
    const until = body.valid_until ? b.valid_until.replace("{time}", time(body.valid_until, true)) : null;
    return el("li", { class: `bulletin urgency-${body.urgency}` },
      el("article", { lang: text.language, dir: ["ar", "fa", "he", "ur"].includes(text.language) ? "rtl" : null },
        el("p", { class: "urgency-tag" }, b["urgency_" + body.urgency]),
        el("h2", { class: "headline" }, text.headline || ""),
        fallback && lang !== "nl" ? el("p", { class: "fallback-note" }, b.only_in_dutch) : null,
        paragraphs("p", text.text, "text"),
        text.instruction ? el("div", { class: "instruction" }, el("h3", {}, b.what_to_do), paragraphs("p", text.instruction)) : null,
        el("dl", { class: "facts" },
          text.area ? el("div", {}, el("dt", {}, b.where), el("dd", {}, text.area)) : null,
          text.sender_name ? el("div", {}, el("dt", {}, b.source), el("dd", {}, text.sender_name)) : null),
        el("p", { class: "validity" }, until, " ", el("span", { class: "version" }, `(${b.version.replace("{version}", version)})`))));
  }
  function preview() {
    const body = draft();
    const lang = $("preview-lang").value;
    const b = cfg.board[lang === "nl" ? "nl" : "en"];
    const version = editing ? editing.version + 1 : 1;
    const targets = body.target_nsps || nsps.map((n) => n.nsp_id);
    const where = targets.length ? nspName(targets[0]) + (targets.length > 1 ? ` (+${targets.length - 1})` : "") : "—";
    const head = () => el("header", { class: "board-header" },
      el("div", { class: "board-title" }, el("h1", {}, b.board_title), el("p", { class: "board-nsp" }, where)));
    $("preview-board").replaceChildren(head(), el("ol", { class: "bulletins" }, article(body, lang, version)));
    $("preview-print").replaceChildren(head(), el("ol", { class: "bulletins" }, article(body, lang, version)),
      el("p", { class: "board-footer" }, b.printed_at.replace("{time}", time(new Date().toISOString(), true))));
    const issues = problems(body);
    $("preview-problems").replaceChildren(...issues.map((p) => el("li", {}, p)));
    $("preview-problems").hidden = !issues.length;
    $("preview-section").hidden = false;
  }

  // ------------------------------------------------------------------ publish, version, withdraw

  async function publish() {
    const body = draft();
    const issues = problems(body);
    if (issues.length) { preview(); flash("error", t("not_yet") + " " + issues.join(" ")); return; }
    $("publish").disabled = true;
    flash("busy", t("working"));
    let res;
    try {
      if (editing) {
        res = await api("POST", `/api/v1/bulletins/${encodeURIComponent(editing.bulletin_id)}/versions`,
          { ...body, expected_version: editing.version });
      } else {
        const id = $("b-id").value.trim();
        res = await api("POST", "/api/v1/bulletins", id ? { ...body, bulletin_id: id } : body);
      }
    } finally {
      $("publish").disabled = false;
    }
    if (!res.ok) { flash("error", explain(res)); return; }
    const out = res.data;
    flash("ok", t("published", { id: out.bulletin_id, version: out.current_version, n: out.reach.targeted }));
    stopEditing();
    watch(out.bulletin_id);
    await loadBulletins();
  }

  async function withdraw(b) {
    if (!window.confirm(t("withdraw_confirm", { id: b.bulletin_id }))) return;
    const res = await api("POST", `/api/v1/bulletins/${encodeURIComponent(b.bulletin_id)}/withdraw`,
      { expected_version: b.current_version, note: $("b-note").value.trim() || null });
    if (!res.ok) { flash("error", explain(res)); return; }
    flash("ok", t("withdrawn", { id: b.bulletin_id }));
    watch(b.bulletin_id);
    await loadBulletins();
  }

  function edit(b) {
    editing = { bulletin_id: b.bulletin_id, version: b.current_version };
    const v = b.current;
    $("b-id").value = b.bulletin_id;
    $("b-id").disabled = true;
    $("b-urgency").value = v.urgency;
    $("b-until").value = "";
    for (const lang of LANGS) for (const f of FIELDS) $(`${lang}-${f}`).value = "";
    $("en-on").checked = false;
    $("x-on").checked = false;
    for (const text of v.texts) {
      let lang = text.language.split("-")[0];
      if (lang === "en") $("en-on").checked = true;
      else if (lang !== "nl") { lang = "x"; $("x-on").checked = true; $("x-language").value = text.language; }
      for (const f of FIELDS) $(`${lang}-${f}`).value = text[f] || "";
    }
    $("all-nsps").checked = v.target_nsps === null;
    for (const box of $("targets").querySelectorAll("input[name=target]")) {
      box.checked = v.target_nsps !== null && v.target_nsps.includes(box.value);
    }
    syncLangs();
    $("editor-title").textContent = t("editor_version", { id: b.bulletin_id, version: b.current_version + 1 });
    $("publish").textContent = t("publish_version");
    $("cancel-edit").hidden = false;
    preview();
    $("editor").scrollIntoView();
  }
  function stopEditing() {
    editing = null;
    $("b-id").disabled = false;
    $("b-id").value = "";
    $("editor-title").textContent = t("editor_new");
    $("publish").textContent = t("publish");
    $("cancel-edit").hidden = true;
  }

  // ------------------------------------------------------------------ list and reach

  let bulletins = [];
  let watching = null;
  async function loadBulletins() {
    const res = await api("GET", "/api/v1/bulletins?state=all");
    if (!res.ok) return res;
    bulletins = res.data;
    const key = JSON.stringify(bulletins.map((b) => [b.bulletin_id, b.current_version, b.state, b.reach]));
    if (key === loadBulletins.key) return res;
    loadBulletins.key = key;
    $("bulletins").replaceChildren(...(bulletins.length ? bulletins.map((b) => {
      const nl = b.current.texts.find((x) => x.language.startsWith("nl")) || b.current.texts[0];
      const r = b.reach;
      return el("tr", { "data-bulletin-id": b.bulletin_id, class: b.bulletin_id === watching ? "selected" : null },
        el("td", {}, el("span", { class: "badge c-" + b.current.urgency }, b.current.urgency)),
        el("td", {}, el("a", { href: "#reach", onclick: () => watch(b.bulletin_id) }, nl.headline),
          el("div", { class: "muted" }, `${b.bulletin_id} · v${b.current_version} · ${time(b.updated_at)}`)),
        el("td", { class: "state" }, cfg.bulletin_states[b.state] || b.state),
        el("td", { class: "reach-count" + (r.all_current ? " ok" : "") }, `${r.current}/${r.targeted}`),
        el("td", { class: "buttons" },
          canAct && b.state !== "withdrawn" ? el("button", { type: "button", class: "edit", onclick: () => edit(b) }, t("new_version")) : null,
          canAct && b.state !== "withdrawn" ? el("button", { type: "button", class: "withdraw", onclick: () => withdraw(b) }, t("withdraw")) : null,
          el("a", { class: "cap", href: `/api/v1/bulletins/${encodeURIComponent(b.bulletin_id)}/cap`, download: `${b.bulletin_id}-v${b.current_version}.cap.xml` }, t("cap_export"))));
    }) : [el("tr", {}, el("td", { colspan: 5, class: "muted" }, t("no_bulletins")))]));
    return res;
  }

  function watch(id) {
    watching = id;
    loadBulletins.key = "";
    $("reach").hidden = false;
    return loadReach();
  }
  async function loadReach() {
    if (!watching) return { ok: true };
    const res = await api("GET", `/api/v1/bulletins/${encodeURIComponent(watching)}/reach`);
    if (!res.ok) return res;
    const r = res.data;
    const s = r.summary;
    $("reach-title").textContent = t("reach_of", { id: r.bulletin_id, version: r.current_version });
    const summary = $("reach-summary");
    summary.textContent = t(r.withdrawn ? "reach_summary_withdrawn" : "reach_summary", { current: s.current, targeted: s.targeted });
    summary.dataset.current = s.current;
    summary.dataset.targeted = s.targeted;
    summary.className = "reach-summary " + (s.all_current ? "ok" : "waiting");
    $("reach-rows").replaceChildren(...r.nsps.map((n) => el("tr", { "data-nsp-id": n.nsp_id, "data-state": n.state },
      el("td", {}, `${n.name || n.nsp_id} (${n.nsp_id})`),
      el("td", { class: "state s-" + n.state }, cfg.reach_states[n.state] || n.state, n.stale ? ` · ${t("stale_nsp")}` : ""),
      el("td", {}, n.version ? `v${n.version}` : "—"),
      el("td", {}, n.confirmed_at ? time(n.confirmed_at) : "—"),
      el("td", {}, cfg.liveness[n.liveness] || n.liveness))));
    return res;
  }

  // ------------------------------------------------------------------ CAP

  async function importCap() {
    const file = $("cap-file").files[0];
    const xml = file ? await file.text() : $("cap-text").value.trim();
    if (!xml) { flash("error", t("cap_none"), "cap-result"); return; }
    const res = await api("POST", "/api/v1/bulletins/cap", xml, "application/cap+xml");
    if (!res.ok) { flash("error", explain(res), "cap-result"); return; }
    const d = res.data;
    const warn = d.warnings.length ? " " + t("cap_warnings", { list: d.warnings.join("; ") }) : "";
    flash("ok", t("cap_done", { outcome: cfg.cap_outcomes[d.outcome] || d.outcome, id: d.bulletin.bulletin_id, version: d.bulletin.current_version }) + warn, "cap-result");
    $("cap-file").value = "";
    $("cap-text").value = "";
    watch(d.bulletin.bulletin_id);
    await loadBulletins();
  }

  // ------------------------------------------------------------------ tasks

  async function sendTask() {
    const targets = chosen("t-targets", "ttarget", "t-all");
    const body = { title: $("t-title").value.trim() };
    const details = $("t-details").value.trim();
    if (details) body.details = details;
    if ($("t-due").value) body.due_at = new Date($("t-due").value).toISOString();
    if (targets === null) body.all_nsps = true; else body.nsp_ids = targets;
    if (!body.title) { flash("error", t("task_need_title"), "task-flash"); return; }
    if (targets !== null && !targets.length) { flash("error", t("need_target"), "task-flash"); return; }
    const res = await api("POST", "/api/v1/tasks", body);
    if (!res.ok) { flash("error", explain(res), "task-flash"); return; }
    flash("ok", t("task_sent", { title: res.data.title, n: res.data.summary.targets }), "task-flash");
    $("t-title").value = "";
    $("t-details").value = "";
    await loadTasks();
  }
  async function cancelTask(task) {
    if (!window.confirm(t("task_cancel_confirm", { title: task.title }))) return;
    const res = await api("POST", `/api/v1/tasks/${encodeURIComponent(task.task_id)}/cancel`, {});
    if (!res.ok) { flash("error", explain(res), "task-flash"); return; }
    await loadTasks();
  }
  async function loadTasks() {
    const res = await api("GET", "/api/v1/tasks");
    if (!res.ok) return res;
    const key = JSON.stringify(res.data);
    if (key === loadTasks.key) return res;
    loadTasks.key = key;
    $("tasks").replaceChildren(...(res.data.length ? res.data.map((task) => el("tr", { "data-task-id": task.task_id },
      el("td", {}, task.title, task.details ? el("div", { class: "muted" }, task.details) : null),
      el("td", {}, task.cancelled ? t("task_cancelled") : task.due_at ? time(task.due_at) : "—"),
      el("td", { class: "task-progress" }, t("task_progress", { received: task.summary.received, done: task.summary.done, n: task.summary.targets })),
      el("td", {}, task.targets.map((x) => el("div", { "data-nsp-id": x.nsp_id, class: "s-" + x.state },
        `${nspName(x.nsp_id)}: ${cfg.task_states[x.state] || x.state}`))),
      el("td", {}, canAct && !task.cancelled ? el("button", { type: "button", class: "cancel", onclick: () => cancelTask(task) }, t("task_cancel")) : null)))
      : [el("tr", {}, el("td", { colspan: 5, class: "muted" }, t("no_tasks")))]));
    return res;
  }

  // ------------------------------------------------------------------ start

  async function tick() {
    try {
      await Promise.all([loadBulletins(), loadReach(), loadTasks()]);
      $("updated").textContent = t("updated", { time: new Date().toLocaleTimeString(locale, { timeZone: cfg.time_zone }) });
    } finally {
      window.setTimeout(tick, Math.max(1, cfg.refresh_seconds) * 1000);
    }
  }

  $("template").replaceChildren(el("option", { value: "" }, t("template_choose")),
    ...cfg.templates.map((x) => el("option", { value: x.key }, cfg.template_names[x.key] || x.key)));
  $("template").addEventListener("change", applyTemplate);
  $("en-on").addEventListener("change", () => { syncLangs(); preview(); });
  $("x-on").addEventListener("change", () => { syncLangs(); preview(); });
  $("preview-button").addEventListener("click", preview);
  $("preview-lang").addEventListener("change", preview);
  $("cancel-edit").addEventListener("click", () => { stopEditing(); preview(); });
  $("all-nsps").addEventListener("change", () => { $("targets").hidden = $("all-nsps").checked; });
  $("t-all").addEventListener("change", () => { $("t-targets").hidden = $("t-all").checked; });
  if (canAct) {
    $("publish").addEventListener("click", publish);
    $("cap-import").addEventListener("click", importCap);
    $("t-send").addEventListener("click", sendTask);
  }
  syncLangs();
  loadNsps().then(tick);
  window.setInterval(loadNsps, 30000);
})();
