/* A WhatsApp publication's recipients on the post page, kept current while
   Meta's statuses arrive (sent → delivered → read, or failed): polled, more
   slowly as nothing changes, stopped when every recipient has settled. */
(function () {
  "use strict";
  var boxes = document.querySelectorAll("details.recipients[data-recipients-url]");
  var SETTLED = ["read", "failed", "window_closed", "opted_out", "skipped", "unconfirmed"];
  var FAST_MS = 1000, SLOW_MS = 10000;

  function cell(text, className) {
    var td = document.createElement("td");
    if (className) {
      var span = document.createElement("span");
      span.className = className; span.textContent = text; td.appendChild(span);
    } else {
      td.textContent = text;
    }
    return td;
  }

  function show(box, data) {
    box.querySelector("[data-field=recipient-summary]").textContent = data.summary;
    var body = box.querySelector("[data-field=recipient-rows]");
    body.textContent = "";
    data.items.forEach(function (row) {
      var tr = document.createElement("tr");
      tr.dataset.phone = row.to;
      var when = row.read_at || row.delivered_at || row.sent_at || row.failed_at;
      tr.appendChild(cell(row.to));
      tr.appendChild(cell(row.status.replace(/_/g, " "), "badge badge-" + row.status));
      tr.appendChild(cell(row.kind || ""));
      var at = cell(when ? "" : "—");
      if (when) at.appendChild(window.socialpub.timeElement(when));
      tr.appendChild(at);
      tr.appendChild(cell(row.error || ""));
      body.appendChild(tr);
    });
  }

  function watch(box) {
    var delay = FAST_MS, last = "";
    function poll() {
      fetch(box.dataset.recipientsUrl, {headers: {Accept: "application/json"}, credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (data) {
          var seen = JSON.stringify(data.counts);
          if (seen !== last) { show(box, data); last = seen; delay = FAST_MS; }
          else { delay = Math.min(delay * 2, SLOW_MS); }
          var open = data.items.some(function (row) { return SETTLED.indexOf(row.status) < 0; });
          if (open || !data.items.length) setTimeout(poll, delay);
        })
        .catch(function () { setTimeout(poll, SLOW_MS); });
    }
    poll();
  }

  Array.prototype.forEach.call(boxes, watch);
})();
