// "Melding invoeren namens NSP": the operator types or pastes a short form (a QR scanner
// types it too). Each change is checked by the CP (POST /api/v1/fallback/shortform/decode);
// the server is the authority, this page only shows its answer. Saving posts to
// /api/v1/fallback/relay, the normal ingest path. Text only through textContent.
(function () {
  "use strict";

  const cfg = JSON.parse(document.getElementById("relay-config").textContent);
  const T = cfg.text;
  const locale = cfg.lang === "en" ? "en-GB" : "nl-NL";
  const $ = (id) => document.getElementById(id);
  // t and api are the shared ones (pagekit.js, loaded before this script).
  const t = window.noodnetPage.texts(T);
  const { api } = window.noodnetPage;
  const text = $("relay-text");
  const check = $("relay-check");
  const save = $("relay-save");
  const preview = $("relay-preview");
  const fields = $("relay-fields");
  const result = $("relay-result");
  let lastChecked = null;
  let pending = 0;

  function hhmm(iso) {
    return new Date(iso).toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
  }

  function reason(res) {
    const d = res.data && res.data.detail;
    if (Array.isArray(d) && d.length) {
      const first = d[0];
      if (cfg.lang !== "en" && first.ctx && first.ctx.nl) return first.ctx.nl;
      return first.msg || JSON.stringify(first);
    }
    if (typeof d === "string") return d;
    return res.network || ("HTTP " + res.status);
  }

  function showPreview(data) {
    fields.textContent = "";
    const rows = [["NSP", data.nsp_id || "?"], ["seq", data.seq], ["soort", data.kind]];
    for (const [k, v] of Object.entries(data.fields)) {
      if (k === "short_code" || k === "seq" || k === "kind") continue;
      rows.push([k, v]);
    }
    for (const [k, v] of rows) {
      const dt = document.createElement("dt");
      dt.textContent = k;
      const dd = document.createElement("dd");
      dd.textContent = String(v);
      fields.append(dt, dd);
    }
    preview.hidden = false;
  }

  async function verify() {
    const value = text.value.trim();
    if (value === lastChecked) return;
    lastChecked = value;
    const mine = ++pending;
    save.disabled = true;
    if (!value) { check.textContent = ""; preview.hidden = true; return; }
    check.textContent = t("checking");
    const res = await api("POST", "/api/v1/fallback/shortform/decode", { text: value });
    if (mine !== pending) return; // an older answer: the operator typed on
    if (res.ok) {
      check.textContent = t("check_ok") + (res.data.nsp_id ? "" : " " + t("unknown_code"));
      check.className = "relay-check ok";
      text.setAttribute("aria-invalid", "false");
      showPreview(res.data);
      save.disabled = !res.data.nsp_id;
    } else {
      check.textContent = reason(res);
      check.className = "relay-check error";
      text.setAttribute("aria-invalid", "true");
      preview.hidden = true;
    }
  }

  let timer = null;
  text.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(verify, 150);
  });

  $("relay-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    await verify();
    if (save.disabled) return;
    save.disabled = true;
    const channel = document.querySelector("input[name=channel]:checked").value;
    const res = await api("POST", "/api/v1/fallback/relay", { text: text.value.trim(), channel });
    result.hidden = false;
    if (res.ok) {
      const d = res.data;
      result.className = "flash ok";
      result.textContent = d.new
        ? t("saved", { seq: d.seq, nsp: d.nsp_id, urgency: d.urgency || d.kind })
        : t("known", { at: hhmm(d.stored_at) });
      result.dataset.messageId = d.message_id;
      text.value = "";
      lastChecked = null;
      check.textContent = "";
      preview.hidden = true;
      loadLists();
    } else {
      result.className = "flash error";
      result.textContent = t("refused", { reason: reason(res) });
      save.disabled = false;
    }
  });

  function li(cls, ...children) {
    const node = document.createElement("li");
    if (cls) node.className = cls;
    node.append(...children);
    return node;
  }

  async function loadLists() {
    const [relays, readouts] = await Promise.all([
      api("GET", "/api/v1/fallback/relay?limit=50"),
      api("GET", "/api/v1/fallback/readouts"),
    ]);
    if (relays.ok) {
      const list = $("relays");
      list.textContent = "";
      for (const r of relays.data) {
        const head = document.createElement("strong");
        head.textContent = r.short_form;
        const hist = document.createElement("p");
        hist.className = "channel-history";
        hist.textContent = r.history
          .map((e) => `${T[e.channel] || e.channel} ${hhmm(e.at)}` + (e.by ? ` (${t("by", { name: e.by })})` : ""))
          .join(" → ");
        list.append(li("relay", head, hist));
      }
      if (!relays.data.length) list.append(li("muted", t("relays_empty")));
    }
    if (readouts.ok) {
      const list = $("readouts");
      list.textContent = "";
      for (const r of readouts.data) {
        const ol = document.createElement("ol");
        ol.className = "readout-lines";
        for (const line of r.lines) {
          const item = document.createElement("li");
          item.textContent = line;
          ol.append(item);
        }
        list.append(li("readout readout-" + r.what, ol));
      }
      if (!readouts.data.length) list.append(li("muted", t("readouts_empty")));
    }
  }

  loadLists();
  window.setInterval(loadLists, 10000);
})();
