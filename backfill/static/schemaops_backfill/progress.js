/* Refreshes the progress of active backfill runs on the page from the admin's JSON
   view. Without JavaScript the page is the same, only static. On a run's detail page
   (data-reload-on-change) a change of state reloads the page, so its buttons follow. */
(function () {
  "use strict";
  var root = document.querySelector("[data-progress-url]");
  if (!root || !window.fetch) return;
  var every = parseInt(root.getAttribute("data-poll-ms"), 10) || 1000;
  var states = {};
  document.querySelectorAll("[data-state]").forEach(function (el) {
    states[el.getAttribute("data-run")] = el.getAttribute("data-state");
  });
  var ids = Object.keys(states).filter(function (id) { return states[id] === "active"; });
  if (!ids.length) return;
  var url = root.getAttribute("data-progress-url") + "?" +
    ids.map(function (id) { return "id=" + encodeURIComponent(id); }).join("&");

  function show(run) {
    document.querySelectorAll('[data-run="' + run.id + '"][data-field]').forEach(function (el) {
      var field = el.getAttribute("data-field");
      if (field === "progress") el.value = run.percent;
      else if (field in run.cells) el.textContent = run.cells[field];
    });
  }

  function tick() {
    fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        var changed = false;
        data.runs.forEach(function (run) {
          show(run);
          if (run.state !== states[run.id]) changed = true;
        });
        if (changed && root.hasAttribute("data-reload-on-change")) window.location.reload();
        else if (!changed || data.runs.some(function (run) { return run.state === "active"; }))
          window.setTimeout(tick, every);
      })
      .catch(function () { window.setTimeout(tick, every * 5); });
  }
  window.setTimeout(tick, every);
})();
