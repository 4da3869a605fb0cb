/* The posts list, live: every 10 s (while the tab is visible) the same page
   of GET /api/posts — same search, same filters — redraws each shown post's
   status and each network's, in place. Polling, not server-sent events: one
   small request per open list is cheap, it goes through any proxy as it is,
   and a gunicorn worker is never held by an idle stream. */
(function () {
  "use strict";
  var items = document.querySelectorAll("[data-post-id]");
  if (!items.length) return;
  var LABELS = JSON.parse(document.getElementById("labels").textContent).status;
  var params = new URLSearchParams(window.location.search);
  params.set("per_page", String(Math.max(items.length, 1)));

  function badge(el, status) {
    var span = el.querySelector(".badge");
    if (!span) return;
    span.className = "badge badge-" + status;
    span.textContent = LABELS[status] || status.replace("_", " ");
  }

  function refresh() {
    if (document.hidden) return;
    fetch("/api/posts?" + params.toString(), {headers: {Accept: "application/json"}, credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (!body) return;
        body.items.forEach(function (post) {
          var item = document.querySelector('[data-post-id="' + post.id + '"]');
          if (!item) return;
          badge(item.querySelector('[data-field="post-status"]'), post.status);
          post.publications.forEach(function (p) {
            var net = item.querySelector('[data-publication-id="' + p.id + '"]');
            if (!net) return;
            net.className = "net-status status-" + p.status;
            badge(net, p.status);
            if (p.last_error) net.title = p.last_error;
          });
        });
      })
      .catch(function () { /* the next tick tries again */ });
  }
  setInterval(refresh, 10000);
})();
