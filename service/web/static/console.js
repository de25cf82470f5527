// The operator console: the queue (left) and one item (right), read and acted on through the
// CP's JSON API with the sign-in cookie. Refreshes every few seconds without touching what the
// operator is typing or has ticked; every refusal of the API is shown in words, never dropped.
// Text only through textContent (never innerHTML): report descriptions come from the public.
(function () {
  "use strict";

  const cfg = JSON.parse(document.getElementById("console-config").textContent);
  const T = cfg.text;
  const canAct = !!cfg.can_act;
  const locale = cfg.lang === "en" ? "en-GB" : "nl-NL";
  const $ = (id) => document.getElementById(id);
  // t, el and api are the shared ones (pagekit.js, loaded before this script).
  const t = window.noodnetPage.texts(T);
  const { el, api } = window.noodnetPage;

  // Times in the CP's configured zone (noodcore.pagelang), never the browser's own.
  const zone = cfg.tz || "Europe/Amsterdam";
  const fmtTime = new Intl.DateTimeFormat(locale, { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  const fmtDay = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" });
  const fmtDate = new Intl.DateTimeFormat("nl-NL", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" });
  function time(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    const hm = fmtTime.format(d);
    if (fmtDay.format(d) === fmtDay.format(new Date())) return hm;
    return fmtDate.format(d) + " " + hm;
  }

  const stateName = (s) => cfg.states[s] || s;
  const cap = (s) => (s ? s.charAt(0).toUpperCase() + s.slice(1) : s);
  const category = (c) => cap(cfg.categories[c] || (c || "").replace(/_/g, " "));
  const kindName = (k) => cfg.kinds[k] || k;
  const line = (p) => (p ? (cfg.lang === "en" ? p.line : p.line_nl) : "");
  function nspName(id) {
    const name = nspNames[id];
    return name ? `${name} (${id})` : id;
  }
  function actionLabel(state, from) {
    const closed = ["resolved", "closed_duplicate", "closed_not_needed"].includes(from);
    if (state === "acknowledged" && closed) return cfg.state_actions.reopen;
    return cfg.state_actions[state] || stateName(state);
  }

  // ------------------------------------------------------------------ API

  function detailText(data) {
    if (!data || data.detail === undefined) return "";
    const d = data.detail;
    if (typeof d === "string") return d;
    if (Array.isArray(d)) {
      return d.map((e) => {
        const field = (e.loc || []).filter((p) => p !== "body").join(".");
        const label = T["field_" + field] || field;
        return label ? `${label}: ${e.msg}` : e.msg;
      }).join("; ");
    }
    return JSON.stringify(d);
  }

  function loginLink() {
    const next = "/console" + (location.hash || "");
    return el("a", { href: "/login?next=" + encodeURIComponent(next) }, t("sign_in_again"));
  }

  // A refusal of the API as a sentence, with the service's own words underneath.
  function explain(res) {
    if (res.network) return [t("err_network") + ": " + res.network];
    const detail = detailText(res.data);
    const said = detail ? el("span", { class: "said" }, t("server_said") + " " + detail) : null;
    if (res.status === 401) return [t("err_401") + " ", loginLink(), said];
    const head = res.status === 403 ? t("err_403") : res.status === 404 ? t("err_404")
      : res.status === 409 ? t("err_409") : res.status === 422 ? t("err_422")
      : t("err_server", { status: res.status });
    return [head + ".", said];
  }

  // ------------------------------------------------------------------ flash (results, errors)

  function flash(kind, parts) {
    const box = $("flash");
    box.replaceChildren(...parts.filter(Boolean).map((p) => (p instanceof Node ? p : el("span", {}, p, " "))));
    box.className = "flash " + kind;
    box.hidden = false;
  }

  // ------------------------------------------------------------------ queue

  let nspNames = {};
  let queueKey = "";
  let current = null; // the open item's id
  let lastOk = null;

  async function loadNsps() {
    const res = await api("GET", "/api/v1/nsps");
    if (res.ok && Array.isArray(res.data)) {
      nspNames = Object.fromEntries(res.data.map((n) => [n.nsp_id, n.name]));
      queueKey = ""; // names may have changed: draw again
    }
  }

  // Exercise (oefening): the queue API puts real work first; every exercise item is marked
  // with the mark the API gives it, real ones get "ECHT" while an exercise runs.
  let exercises = []; // open exercises
  let exerciseFilter = "all";

  function markOf(it) {
    if (it.exercise_mark) return el("span", { class: "ex-mark", "data-exercise": it.exercise_id }, it.exercise_mark);
    return exercises.length ? el("span", { class: "real-mark" }, t("real_mark")) : null;
  }

  function queueEntries(data) {
    const out = [];
    let section = null;
    for (const entry of data) {
      const ex = entry.item.exercise_id || null;
      if (ex && ex !== section) {
        out.push(el("li", { class: "ex-section", role: "presentation" }, t("exercise_section", { id: ex })));
      }
      section = ex;
      out.push(queueEntry(entry));
    }
    return out;
  }

  async function loadExercises() {
    const res = await api("GET", "/api/v1/exercises");
    if (!res.ok || !Array.isArray(res.data)) return;
    exercises = res.data.filter((x) => x.state === "open");
    const box = $("exercise-state");
    box.replaceChildren(...(exercises.length
      ? exercises.map((x) => el("span", { class: "ex-banner" }, t("exercise_mark") + " — " + t("exercise_open", { name: x.name, id: x.exercise_id })))
      : [t("exercise_none")]));
    document.body.classList.toggle("in-exercise", exercises.length > 0);
    const closers = $("exercise-close-buttons");
    if (closers) {
      closers.replaceChildren(...exercises.map((x) => el("button", {
        type: "button", class: "ex-close", "data-exercise": x.exercise_id,
        onclick: async () => {
          const r = await api("POST", `/api/v1/exercises/${encodeURIComponent(x.exercise_id)}/close`);
          if (!r.ok) flash("error", explain(r));
          await loadExercises(); queueKey = ""; await loadQueue();
        },
      }, t("exercise_close_button", { id: x.exercise_id }))));
    }
    queueKey = "";
  }

  function queueEntry(entry) {
    const it = entry.item;
    const pending = it.duplicate_status === "pending" && it.possible_duplicate_of;
    const cls = ["q-item", "c-" + it.top_class];
    if (it.exercise_id) cls.push("exercise");
    if (it.id === current) cls.push("selected");
    if (pending) cls.push("dup");
    const what = [category(it.category), it.item_type === "resource_request" ? t("item_resource_request") : null]
      .filter(Boolean).join(" · ");
    return el("li", { class: cls.join(" "), "data-item-id": it.id },
      el("a", { href: "#item-" + it.id, "aria-current": it.id === current ? "true" : null },
        markOf(it),
        el("span", { class: "q-head" },
          el("span", { class: "badge c-" + it.top_class }, it.top_class),
          el("span", { class: "q-id" }, "#" + it.id),
          el("span", { class: "q-what" }, what),
          el("span", { class: "state s-" + it.state }, stateName(it.state))),
        el("span", { class: "q-line" }, line(entry.priority)),
        pending ? el("span", { class: "q-dup" }, "⚠ " + t("possible_duplicate", { id: it.possible_duplicate_of })) : null,
        el("span", { class: "q-desc" }, it.display_text || it.description),
        el("span", { class: "q-where" }, [it.address, it.nsp_ids.map(nspName).join(", ")].filter(Boolean).join(" — "))));
  }

  // A life-threatening item nobody has acknowledged yet must not wait for someone to look at
  // the list: a banner, the count in the tab title, and a tone when a new one comes in.
  const baseTitle = document.title;
  let p1Seen = null; // ids of unacknowledged P1 items at the last refresh (null: none yet)

  function tone() {
    try {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      const ctx = new Ctx();
      const osc = ctx.createOscillator();
      osc.frequency.value = 880;
      osc.connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.4);
      osc.onended = () => ctx.close();
    } catch (err) {
      // No sound allowed before the operator has clicked on the page: the banner stays.
    }
  }

  function p1Alert(entries) {
    const isNewP1 = (e) => e.item.top_class === "P1" && e.item.state === "new";
    // Exercise P1s never raise the real alarm (no tone, not in the title): their own line.
    const practice = entries.filter((e) => isNewP1(e) && e.item.exercise_id);
    const exBox = $("exercise-p1");
    if (exBox) {
      exBox.hidden = !practice.length;
      exBox.textContent = practice.length ? t("exercise_p1", { n: practice.length }) : "";
    }
    const waiting = entries.filter((e) => isNewP1(e) && !e.item.exercise_id);
    const box = $("p1-alert");
    const ids = waiting.map((e) => e.item.id);
    if (p1Seen !== null && ids.some((id) => !p1Seen.has(id))) tone();
    p1Seen = new Set(ids);
    document.title = waiting.length ? `(${waiting.length}) P1 · ${baseTitle}` : baseTitle;
    if (!waiting.length) { box.hidden = true; return; }
    box.replaceChildren(t("p1_waiting", { n: waiting.length }),
      el("a", { href: "#item-" + ids[0] }, t("p1_open_first", { id: ids[0] })));
    box.hidden = false;
  }

  // Filters and search narrow what the queue shows, never what the P1 banner counts.
  const filterIds = ["f-search", "f-class", "f-category", "f-nsp", "f-state"];
  function filterValues() {
    return Object.fromEntries(filterIds.map((id) => [id, $(id).value.trim()]));
  }
  function matches(entry, f) {
    const it = entry.item;
    if (f["f-class"] && it.top_class !== f["f-class"]) return false;
    if (f["f-category"] && it.category !== f["f-category"]) return false;
    if (f["f-nsp"] && !it.nsp_ids.includes(f["f-nsp"])) return false;
    if (f["f-state"] && it.state !== f["f-state"]) return false;
    const q = f["f-search"].toLowerCase();
    if (!q) return true;
    if (/^#?\d+$/.test(q)) return String(it.id) === q.replace("#", "");
    const hay = [it.description, it.address, category(it.category), ...it.nsp_ids, ...it.nsp_ids.map(nspName),
      line(entry.priority)].filter(Boolean).join(" ").toLowerCase();
    return q.split(/\s+/).every((w) => hay.includes(w));
  }
  function fillSelect(id, pairs) {
    const box = $(id);
    const keep = box.value;
    const first = box.options[0];
    const key = JSON.stringify(pairs);
    if (box.dataset.key === key) return;
    box.dataset.key = key;
    box.replaceChildren(first, ...pairs.map(([v, label]) => el("option", { value: v }, label)));
    box.value = pairs.some(([v]) => v === keep) ? keep : "";
  }
  function fillFilters(entries) {
    const cats = [...new Set(entries.map((e) => e.item.category))].sort();
    fillSelect("f-category", cats.map((c) => [c, category(c)]));
    const ids = [...new Set([...Object.keys(nspNames), ...entries.flatMap((e) => e.item.nsp_ids)])].sort();
    fillSelect("f-nsp", ids.map((id) => [id, nspName(id)]));
    fillSelect("f-state", ["new", "acknowledged", "dispatched", "in_progress"].map((st) => [st, stateName(st)]));
  }

  async function loadQueue() {
    const res = await api("GET", "/api/v1/queue?limit=500&exercise=" + encodeURIComponent(exerciseFilter));
    if (!res.ok) return res;
    p1Alert(res.data);
    fillFilters(res.data);
    const f = filterValues();
    const shown = res.data.filter((e) => matches(e, f));
    const filtered = shown.length !== res.data.length;
    // Only what is shown: scores creep up every second, the words once a minute.
    const key = JSON.stringify([current, f, shown.map((e) => [e.item, line(e.priority)])]);
    if (key !== queueKey) {
      queueKey = key;
      const list = $("queue");
      // Keep the keyboard where it was when the list is drawn again.
      const focused = document.activeElement && document.activeElement.closest
        ? document.activeElement.closest("#queue li[data-item-id]") : null;
      const focusId = focused ? focused.getAttribute("data-item-id") : null;
      list.replaceChildren(...(shown.length ? queueEntries(shown)
        : [el("li", { class: "muted" }, filtered ? t("filter_none", { n: res.data.length }) : t("queue_empty"))]));
      $("queue-count").textContent = filtered
        ? `(${t("filter_count", { shown: shown.length, n: res.data.length })})` : `(${res.data.length})`;
      if (focusId) {
        const again = list.querySelector(`li[data-item-id="${focusId}"] a`);
        if (again) again.focus();
      }
    }
    return res;
  }

  // ------------------------------------------------------------------ one item

  let view = null; // the open item: its id, what was drawn (keys), ticked reports, data

  function openItem(id) {
    current = id;
    queueKey = "";
    view = { id, headKey: "", reportsKey: "", auditKey: "", statesKey: "", selected: new Set(), item: null };
    const root = $("item");
    root.replaceChildren(
      el("article", { id: "item-view", "data-item-id": id },
        el("div", { id: "item-head" }),
        canAct ? actionsSkeleton() : el("p", { class: "readonly-note", id: "readonly-note" }, cfg.readonly_reason),
        el("section", { id: "item-reports", "aria-labelledby": "reports-title" }),
        el("section", { id: "item-audit", "aria-labelledby": "audit-title" })));
    $("flash").hidden = true;
    updateLangLinks();
    return refreshItem();
  }

  function actionsSkeleton() {
    return el("section", { id: "actions", class: "actions", "aria-labelledby": "actions-title" },
      el("h3", { id: "actions-title" }, t("actions")),
      el("label", { for: "note" }, t("note_label")),
      el("textarea", { id: "note", rows: 2, maxlength: 1000, spellcheck: "true" }),
      el("div", { id: "dup-decision", class: "dup-decision", hidden: true }),
      el("div", { class: "row" },
        el("span", { class: "label", id: "next-state-label" }, t("next_state")),
        el("div", { id: "state-buttons", class: "buttons", role: "group", "aria-labelledby": "next-state-label" })),
      el("div", { id: "merge-part", class: "row" },
        el("label", { for: "merge-into" }, t("merge_label")),
        el("input", { id: "merge-into", type: "number", min: 1, inputmode: "numeric", class: "narrow" }),
        el("button", { type: "button", id: "merge", onclick: () => doMerge(null) }, t("merge_button")),
        el("p", { class: "hint" }, t("merge_hint"))),
      el("div", { id: "split-part", class: "row" },
        el("button", { type: "button", id: "split", onclick: doSplit }, t("split_button")),
        el("p", { class: "hint" }, t("split_hint"))));
  }

  function drawHead(it) {
    const pending = it.duplicate_status === "pending" && it.possible_duplicate_of;
    const head = $("item-head");
    const kind = it.item_type === "resource_request" ? t("item_resource_request") : t("item_incident");
    const people = it.people_involved || it.vulnerable_people
      ? t("people", { n: it.people_involved, v: it.vulnerable_people }) : null;
    // What the reporters said about where and who, and how to reach them: every distinct value.
    const distinct = (f) => [...new Set(it.reports.map(f).filter(Boolean))];
    const landmarks = distinct((r) => r.landmark);
    const reporters = distinct((r) => r.reporter_name);
    const callbacks = distinct((r) => r.callback);
    const perNsp = Object.entries(it.reports.reduce((acc, r) => { acc[r.nsp_id] = (acc[r.nsp_id] || 0) + 1; return acc; }, {}))
      .map(([id, n]) => `${nspName(id)}: ${n}`).join(", ");
    head.replaceChildren(...[
      it.exercise_mark ? el("p", { class: "ex-mark ex-head", id: "item-exercise" }, it.exercise_mark + " — " + it.exercise_id) : null,
      el("h2", { id: "item-title", class: "c-" + it.top_class },
        el("span", { class: "badge c-" + it.top_class }, it.top_class),
        ` #${it.id} · ${category(it.category)} · ${kind}`),
      el("p", { class: "item-state" },
        el("span", { id: "item-state", class: "state s-" + it.state, "data-state": it.state }, stateName(it.state)),
        " ", t("state_since", { time: time(it.state_changed_at) }),
        " · ", it.report_count === 1 ? t("report_1") : t("reports_n", { n: it.report_count })),
      it.priority ? el("p", { id: "item-line", class: "item-line" }, line(it.priority))
        : el("p", { class: "muted" }, t("closed_note")),
      pending ? el("p", { class: "q-dup", id: "item-dup" }, "⚠ ",
        el("a", { href: "#item-" + it.possible_duplicate_of }, t("possible_duplicate", { id: it.possible_duplicate_of }))) : null,
      it.duplicate_status === "separate" && it.possible_duplicate_of
        ? el("p", { class: "muted" }, t("duplicate_separate", { id: it.possible_duplicate_of })) : null,
      it.merged_into ? el("p", { class: "notice" }, el("a", { href: "#item-" + it.merged_into }, t("merged_into", { id: it.merged_into }))) : null,
      it.split_from ? el("p", { class: "muted" }, el("a", { href: "#item-" + it.split_from }, t("split_from", { id: it.split_from }))) : null,
      el("p", { class: "item-desc" }, it.display_text || it.description),
      el("dl", { class: "facts" },
        it.address ? [el("dt", {}, t("address")), el("dd", {}, it.address)] : null,
        landmarks.length ? [el("dt", {}, t("landmark")), el("dd", { id: "item-landmark" }, landmarks.join(" · "))] : null,
        reporters.length ? [el("dt", {}, t("reporter")), el("dd", { id: "item-reporter" }, reporters.join(" · "))] : null,
        callbacks.length ? [el("dt", {}, t("callback")), el("dd", { id: "item-callback" }, callbacks.join(" · "))] : null,
        el("dt", {}, t("nsps")), el("dd", {}, it.nsp_ids.map(nspName).join(", ")),
        el("dt", {}, t("per_nsp")), el("dd", { id: "item-per-nsp" }, perNsp),
        people ? [el("dt", {}, t("people_label")), el("dd", {}, people)] : null,
        el("dt", {}, t("times_label")),
        el("dd", {}, t("first_last", { first: time(it.first_seen), last: time(it.last_seen) }))),
    ].filter(Boolean));
  }

  function drawActions(it) {
    if (!canAct) return;
    const key = JSON.stringify([it.state, it.allowed_states, it.duplicate_status, it.item_type,
      it.merged_into, it.reports.length]);
    if (key === view.statesKey) return; // the note and the inputs stay as they are
    view.statesKey = key;
    const buttons = $("state-buttons");
    buttons.replaceChildren(...(it.allowed_states.length
      ? it.allowed_states.map((s) => el("button", { type: "button", class: "state-button s-" + s, "data-state": s,
          onclick: () => doState(s) }, actionLabel(s, it.state)))
      : [el("span", { class: "muted" }, t("no_next_state"))]));
    const pending = it.duplicate_status === "pending" && it.possible_duplicate_of && !it.merged_into;
    const dup = $("dup-decision");
    dup.hidden = !pending;
    dup.replaceChildren(...(pending ? [
      el("p", {}, t("duplicate_question", { id: it.possible_duplicate_of })),
      el("button", { type: "button", id: "merge-dup", onclick: () => doMerge(it.possible_duplicate_of) },
        t("merge_with", { id: it.possible_duplicate_of })),
      el("button", { type: "button", id: "keep-separate", onclick: doKeepSeparate }, t("keep_separate")),
    ] : []));
    // Merging takes two open incidents; splitting, an incident with reports to spare.
    const incident = it.item_type === "incident" && !it.merged_into;
    $("merge-part").hidden = !incident || !it.priority;
    $("split-part").hidden = !incident || it.reports.length < 2;
  }

  function flatten(obj, prefix) {
    const out = {};
    for (const [k, v] of Object.entries(obj)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (v && typeof v === "object" && !Array.isArray(v)) Object.assign(out, flatten(v, key));
      else if (v !== null && v !== undefined && v !== "") out[key] = Array.isArray(v) ? v.join(", ") : String(v);
    }
    return out;
  }

  function drawReports(it) {
    const splittable = canAct && it.item_type === "incident" && !it.merged_into && it.reports.length > 1;
    for (const id of [...view.selected]) {
      if (!it.reports.some((r) => r.message_id === id)) view.selected.delete(id);
    }
    const rows = it.reports.map((r) => el("tr", { "data-message-id": r.message_id, class: "c-" + r.urgency_class },
      splittable ? el("td", {}, el("input", {
        type: "checkbox", "aria-label": `${t("col_select")} ${time(r.received_at)} ${r.nsp_id}`,
        checked: view.selected.has(r.message_id),
        onchange: (ev) => { if (ev.target.checked) view.selected.add(r.message_id); else view.selected.delete(r.message_id); },
      })) : null,
      el("td", {}, time(r.received_at)),
      el("td", {}, nspName(r.nsp_id),
        r.channels && r.channels.length
          ? el("span", { class: "channels muted" }, " · via " + r.channels.join(" → "))
          : null),
      el("td", {}, kindName(r.kind)),
      el("td", {}, el("span", { class: "badge c-" + r.urgency_class }, r.urgency_class), " ", category(r.category)),
      el("td", { class: "desc" }, r.exercise_mark ? r.exercise_mark + " — " + r.description : r.description),
      el("td", {}, r.address || ""),
      el("td", { class: "landmark" }, r.landmark || ""),
      el("td", { class: "reporter" }, [r.reporter_name, r.callback].filter(Boolean).join(" — ")),
      el("td", { class: "channel" }, T["channel_" + r.channel] || r.channel || ""),
      el("td", { class: "muted" }, cfg.joined_by[r.joined_by] || r.joined_by,
        el("details", { class: "all-fields" }, el("summary", {}, t("all_fields")),
          el("dl", {}, Object.entries(flatten(r.body || {})).flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]))))));
    $("item-reports").replaceChildren(
      el("h3", { id: "reports-title" }, `${T.reports} (${it.reports.length})`),
      el("div", { class: "table-wrap" }, el("table", { class: "reports" },
        el("thead", {}, el("tr", {},
          splittable ? el("th", { scope: "col" }, t("col_select")) : null,
          ...["col_time", "col_nsp", "col_kind", "col_what", "col_description", "col_address",
            "col_landmark", "col_reporter", "col_channel", "col_joined"]
            .map((k) => el("th", { scope: "col" }, t(k))))),
        el("tbody", {}, rows))));
  }

  function drawAudit(rows) {
    $("item-audit").replaceChildren(
      el("h3", { id: "audit-title" }, t("audit")),
      rows.length ? el("div", { class: "table-wrap" }, el("table", { class: "audit", id: "audit" },
        el("thead", {}, el("tr", {}, ...["col_time", "col_who", "col_action", "col_change", "col_note"]
          .map((k) => el("th", { scope: "col" }, t(k))))),
        el("tbody", {}, rows.slice().reverse().map((a) => el("tr", { "data-action": a.action },
          el("td", {}, time(a.at)),
          el("td", {}, a.actor),
          el("td", {}, T["action_" + a.action] || a.action),
          el("td", {}, a.from_state || a.to_state
            ? `${a.from_state ? stateName(a.from_state) : "—"} → ${a.to_state ? stateName(a.to_state) : "—"}` : ""),
          el("td", { class: "note" }, a.note || "")))))) : el("p", { class: "muted" }, t("audit_empty")));
  }

  async function refreshItem() {
    if (view === null) return { ok: true };
    const id = view.id;
    const [res, audit] = await Promise.all([
      api("GET", `/api/v1/items/${id}`), api("GET", `/api/v1/items/${id}/audit`)]);
    if (view === null || view.id !== id) return { ok: true }; // another item was opened meanwhile
    if (!res.ok) {
      if (res.status === 404 || res.status === 422) {
        $("item").replaceChildren(el("p", { class: "error" }, ...explain(res)));
        view = null;
        return { ok: true };
      }
      return res;
    }
    const it = res.data;
    view.item = it;
    // Redraw a part only when what it shows changed (not for a creeping score), so focus,
    // ticks and typing survive the refresh.
    const { reports, priority, ...fields } = it;
    const headKey = JSON.stringify([fields, line(priority), nspNames]);
    if (headKey !== view.headKey) { view.headKey = headKey; drawHead(it); }
    drawActions(it);
    const reportsKey = JSON.stringify([reports, nspNames, it.merged_into]);
    if (reportsKey !== view.reportsKey) { view.reportsKey = reportsKey; drawReports(it); }
    if (audit.ok) {
      const auditKey = JSON.stringify(audit.data);
      if (auditKey !== view.auditKey) { view.auditKey = auditKey; drawAudit(audit.data); }
    }
    return audit.ok ? res : audit;
  }

  // ------------------------------------------------------------------ actions

  function noteOrComplain() {
    const note = $("note").value.trim();
    if (!note) {
      flash("error", [t("note_missing")]);
      $("note").focus();
      return null;
    }
    return note;
  }

  async function act(path, body, onDone) {
    const buttons = [...document.querySelectorAll("#actions button")];
    buttons.forEach((b) => { b.disabled = true; });
    flash("busy", [t("working")]);
    const id = view.id;
    let res;
    try {
      res = await api("POST", path, body);
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
    if (res.ok) {
      $("note").value = "";
      view.statesKey = ""; // draw the buttons for the new state
      flash("ok", onDone(res));
    } else {
      view.statesKey = "";
      await refreshItem(); // what the item is now: the message below says it
      const parts = explain(res);
      if (res.status === 409 && body.state && view && view.id === id && view.item) {
        const it = view.item;
        parts.splice(1, 0, t("conflict_state", { id, state: stateName(it.state), to: stateName(body.state) }),
          it.allowed_states.length
            ? t("allowed_now", { list: it.allowed_states.map((s) => actionLabel(s, it.state)).join(", ") })
            : t("allowed_none"));
      }
      flash("error", parts);
    }
    await Promise.all([loadQueue(), refreshItem()]);
    return res;
  }

  function doState(state) {
    const note = noteOrComplain();
    if (note === null) return;
    const id = view.id;
    act(`/api/v1/items/${id}/state`, { state, note }, (res) => {
      const acks = Number(res.headers.get("X-Acks-Queued") || 0);
      return [t("done_state", { id, state: stateName(state) }), acks ? t("done_acks", { n: acks }) : null];
    });
  }

  function doMerge(into) {
    const target = into || Number($("merge-into").value);
    if (!target || target < 1) {
      flash("error", [t("merge_target_missing")]);
      $("merge-into").focus();
      return;
    }
    const note = noteOrComplain();
    if (note === null) return;
    const id = view.id;
    act(`/api/v1/incidents/${id}/merge`, { into: target, note }, () => {
      $("merge-into").value = "";
      return [t("done_merge", { id, into: target }), " ",
        el("a", { href: "#item-" + target }, "#" + target)];
    });
  }

  function doSplit() {
    const ids = [...view.selected];
    if (!ids.length) {
      flash("error", [t("split_none")]);
      return;
    }
    const note = noteOrComplain();
    if (note === null) return;
    const id = view.id;
    act(`/api/v1/incidents/${id}/split`, { message_ids: ids, note }, (res) => {
      view.selected.clear();
      return [t("done_split", { id: res.data.id }), " ", el("a", { href: "#item-" + res.data.id }, "#" + res.data.id)];
    });
  }

  function doKeepSeparate() {
    const note = noteOrComplain();
    if (note === null) return;
    const id = view.id;
    act(`/api/v1/incidents/${id}/keep-separate`, { note }, () => [t("done_keep", { id })]);
  }

  // ------------------------------------------------------------------ refresh, navigation

  function stale(res) {
    const box = $("stale");
    if (res.status === 401) {
      box.replaceChildren(t("err_401") + " ", loginLink());
    } else {
      const since = lastOk ? lastOk.toLocaleTimeString(locale, { timeZone: zone, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }) : "—";
      box.replaceChildren(t("stale", { time: since }), " ", el("span", { class: "said" }, ...explain(res)));
    }
    box.hidden = false;
  }

  // A background worker of the CP that keeps failing (the queue may look fine while acks or
  // upward summaries are stuck): a banner from /readyz, which lists every worker's health.
  async function loadWorkers() {
    let data = null;
    try {
      const response = await fetch("/readyz", { headers: { Accept: "application/json" } });
      data = await response.json();
    } catch (err) {
      return; // no connection: the "stale" banner says so already
    }
    // Grouping in its own process (NOODNET_TRIAGE_GROUPING_PROCESS): reports received and
    // acked that are not in the queue yet. Shown at once for a P1, else after 5 s.
    const waiting = data && data.cluster ? data.cluster.grouping_queue : null;
    const groupingBox = $("grouping-alert");
    if (waiting && waiting.waiting > 0 && (waiting.waiting_p1 > 0 || waiting.oldest_seconds >= 5)) {
      groupingBox.textContent = t("grouping_waiting", {
        n: waiting.waiting, p1: waiting.waiting_p1, seconds: Math.round(waiting.oldest_seconds || 0) });
      groupingBox.hidden = false;
    } else {
      groupingBox.hidden = true;
    }
    const failing = (data && Array.isArray(data.workers) ? data.workers : []).filter((w) => !w.healthy);
    const box = $("workers-alert");
    if (!failing.length) { box.hidden = true; return; }
    box.replaceChildren(t("workers_failing", { names: failing.map((w) => w.name).join(", ") }),
      ...failing.map((w) => el("span", { class: "said" }, w.name + ": " + (w.reason || ""))));
    box.hidden = false;
  }

  async function tick() {
    try {
      loadWorkers();
      const results = await Promise.all([loadQueue(), refreshItem()]);
      const failed = results.find((r) => r && !r.ok);
      if (failed) {
        stale(failed);
      } else {
        lastOk = new Date();
        $("stale").hidden = true;
        $("updated").textContent = t("updated", {
          time: lastOk.toLocaleTimeString(locale, { timeZone: zone, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }) });
      }
    } finally {
      window.setTimeout(tick, Math.max(2, cfg.refresh_seconds) * 1000);
    }
  }

  function updateLangLinks() {
    for (const a of document.querySelectorAll("[data-lang-link]")) {
      const url = new URL(a.getAttribute("href"), location.href);
      url.hash = location.hash;
      a.setAttribute("href", url.pathname + url.search + url.hash);
    }
  }

  function fromHash() {
    const m = /^#item-(\d+)$/.exec(location.hash);
    if (m && Number(m[1]) !== current) {
      openItem(Number(m[1])).then(() => loadQueue());
    }
  }

  for (const id of filterIds) $(id).addEventListener(id === "f-search" ? "input" : "change", () => loadQueue());
  $("filters").addEventListener("submit", (ev) => ev.preventDefault());
  window.addEventListener("hashchange", fromHash);
  $("exercise-filter").addEventListener("change", (ev) => {
    exerciseFilter = ev.target.value; queueKey = ""; loadQueue();
  });
  const openBtn = $("exercise-open");
  if (openBtn) {
    openBtn.addEventListener("click", async () => {
      const r = await api("POST", "/api/v1/exercises",
        { exercise_id: $("exercise-new-id").value.trim(), name: $("exercise-new-name").value.trim() });
      if (!r.ok) flash("error", explain(r));
      await loadExercises(); await loadQueue();
    });
  }
  window.setInterval(loadExercises, 15000);
  Promise.all([loadNsps(), loadExercises()]).then(() => {
    fromHash();
    tick();
    window.setInterval(loadNsps, 60000);
  });
})();
