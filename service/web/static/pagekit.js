// The one copy of the helpers every CP page script uses (console.js, desk.js, relay.js): load
// it before the page's own script (both deferred: they run in document order).
//   texts(T)  -> t(key, {name: value}): a page text with its {placeholders} filled in.
//   el(tag, attrs, ...children): an element; text only through textContent/text nodes, never
//             innerHTML (report text comes from the public); attrs: class, text, on<event>,
//             anything else as an attribute (true: present, null/undefined/false: left out).
//   api(method, path, body, type): the CP's JSON API with the sign-in cookie; never throws:
//             {ok, status, data, headers} or, when the network failed, {ok: false, status: 0,
//             data: null, network}. ``type`` sends ``body`` as is with that content type.
(function () {
  "use strict";

  function texts(T) {
    return function t(key, values) {
      const text = T[key] || key;
      return text.replace(/\{(\w+)\}/g, (m, k) => (values && k in values ? String(values[k]) : m));
    };
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  async function api(method, path, body, type) {
    const init = { method, credentials: "same-origin", cache: "no-store",
                   headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = type || "application/json";
      init.body = type ? body : JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (exc) {
      return { ok: false, status: 0, data: null, network: String(exc) };
    }
    let data = null;
    try { data = await response.json(); } catch (_) { data = null; }
    return { ok: response.ok, status: response.status, data, headers: response.headers };
  }

  window.noodnetPage = Object.freeze({ texts, el, api });
})();
