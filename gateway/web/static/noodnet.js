// Keeps a page current without reloading it (a reload would lose what a volunteer typed or
// which history was open): every N seconds the region marked data-refresh-url is fetched from
// the gateway and swapped in when it changed. When the gateway itself cannot be reached the
// board says since when its information is.
(function () {
  "use strict";

  // In the NSP's zone, like every time the gateway writes (noodcore.pagelang), not the
  // screen's own zone.
  var zone = document.body.getAttribute("data-tz") || "Europe/Amsterdam";
  function hhmm(date) {
    return date.toLocaleTimeString("nl-NL", { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  }

  // Questions that only apply to some answers (a medical P1: conscious? breathing?) show up
  // when those answers are chosen; without this script they are always shown.
  document.querySelectorAll("form [data-show-when]").forEach(function (field) {
    var form = field.closest("form");
    var rules = field.getAttribute("data-show-when").split(";").map(function (pair) { return pair.split("="); });
    function update() {
      var data = new FormData(form);
      field.hidden = !rules.every(function (r) { return data.get(r[0]) === r[1]; });
    }
    form.addEventListener("change", update);
    update();
  });

  document.querySelectorAll("[data-refresh-url]").forEach(function (region) {
    var url = region.getAttribute("data-refresh-url");
    var every = Math.max(2, Number(region.getAttribute("data-refresh-seconds")) || 30) * 1000;
    var stale = document.getElementById("screen-stale");
    var lastOk = new Date();

    function tick() {
      fetch(url, { cache: "no-store", credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.text();
        })
        .then(function (html) {
          lastOk = new Date();
          if (region.innerHTML.trim() !== html.trim()) { region.innerHTML = html; }
          if (stale) { stale.hidden = true; }
        })
        .catch(function () {
          if (stale) {
            stale.textContent = stale.getAttribute("data-template").replace("__TIME__", hhmm(lastOk));
            stale.hidden = false;
          }
        })
        .then(function () { window.setTimeout(tick, every); });
    }
    window.setTimeout(tick, every);
  });

  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  // After a failed submit, take keyboard and screen-reader users to the list of problems.
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
