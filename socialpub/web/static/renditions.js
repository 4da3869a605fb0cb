/* The media library page, live while a new version of a video is being made:
 * each video with one on its way polls GET /api/media/<id>/renditions every two
 * seconds and rewrites its line ("Making it: 42 %"); once one is ready or has
 * failed, the page is loaded again to show it (the new video among the files). */
(function () {
  "use strict";
  var PAUSE_MS = 2000;
  var watched = document.querySelectorAll("[data-renditions]");
  Array.prototype.forEach.call(watched, function (item) {
    function poll() {
      fetch(item.dataset.renditions, {headers: {Accept: "application/json"}, cache: "no-store"})
        .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
        .then(function (body) {
          var settled = false;
          body.items.forEach(function (one) {
            var line = item.querySelector('[data-rendition="' + one.network + "/" + one.kind + '"]');
            if (line && one.status !== "ready" && one.status !== "failed") line.textContent = one.summary;
            if (line && (one.status === "ready" || one.status === "failed")) settled = true;
          });
          if (settled) window.location.reload();
          else window.setTimeout(poll, PAUSE_MS);
        })
        .catch(function () { window.setTimeout(poll, PAUSE_MS * 3); });
    }
    window.setTimeout(poll, PAUSE_MS);
  });
})();
