/* The post page, live: while any network is queued, sending or waiting to
 * retry, poll GET /api/posts/<id>/status and redraw each network's card in
 * place (no reload). Retry buttons post their form (with its CSRF token) in
 * the background and go back to watching. */
(function () {
  "use strict";
  var root = document.getElementById("post-live");
  if (!root) return;
  var LABELS = JSON.parse(document.getElementById("labels").textContent);
  var IN_FLIGHT = ["queued", "processing", "retrying"];
  var FINAL = ["published", "partly_failed", "failed", "expired", "unconfirmed"];
  var RETRYABLE = ["partly_failed", "failed", "expired", "unconfirmed"];
  /* The same steps as the timeline macro in post.html. */
  var STEPS = {
    pending: ["todo", "todo", "todo"], queued: ["current", "todo", "todo"],
    processing: ["done", "current", "todo"], retrying: ["done", "warn", "todo"],
    published: ["done", "done", "done"], failed: ["done", "done", "bad"],
    partly_failed: ["done", "done", "warn"],
    expired: ["done", "bad", "bad"], unconfirmed: ["done", "done", "warn"]
  };
  var FAST_MS = 500, SLOW_MS = 5000, MAX_BACKOFF_MS = 10000;
  var state = JSON.parse(document.getElementById("post-status-data").textContent);
  var timer = null, failures = 0, historyStale = false;

  function label(status) { return LABELS.status[status] || status; }

  function badge(el, status) {
    var span = el.querySelector(".badge") || el.appendChild(document.createElement("span"));
    span.className = "badge badge-" + status;
    span.textContent = label(status);
  }

  function field(card, name) { return card.querySelector('[data-field="' + name + '"]'); }

  function time(iso) { return window.socialpub.timeElement(iso); }

  function setContent(el, node) {
    el.textContent = "";
    if (typeof node === "string") el.textContent = node; else el.appendChild(node);
  }

  function drawTimeline(el, p) {
    var states = STEPS[p.status] || STEPS.pending;
    var steps = el.querySelectorAll(".step");
    var names = ["Queued", (p.status === "retrying" ? "Retrying" : "Sending") + (p.attempts ? " · try " + p.attempts : ""),
                 FINAL.indexOf(p.status) >= 0 ? label(p.status) : "Published"];
    for (var i = 0; i < steps.length; i++) {
      steps[i].className = "step step-" + states[i];
      steps[i].querySelector(".step-label").textContent = names[i];
    }
  }

  var COUNT = new Intl.NumberFormat();
  /* What holds a WhatsApp broadcast back (progress.waiting_for), and what happens after. */
  var HELD = {
    messaging_limit: ["Waiting for Meta's 24-hour limit", "resumes about"],
    pair_rate: ["Waiting for Meta's pause between two messages to the same person", "resumes about"],
    throughput: ["Waiting a second for the number's messages-a-second limit", "resumes about"],
    number_paused: ["Meta has paused this number", "trying again about"],
    other: ["Waiting for one of Meta's limits", "resumes about"]
  };

  /* A time as the clock shows it today, else with its date. */
  function about(iso) {
    var t = time(iso), d = new Date(iso);
    if (!isNaN(d) && d.toDateString() === new Date().toDateString()) {
      t.textContent = window.socialpub.datePart(d, "clock");
    }
    return t;
  }

  /* A WhatsApp broadcast's line: "Sent 412 of 1,000 · 3 failed · 585 to go · done about 17:42", or what it
     waits for. */
  function drawBroadcast(el, p) {
    var g = p.progress;
    el.hidden = !g || !g.total;
    if (el.hidden) return;
    var ended = FINAL.indexOf(p.status) >= 0;
    var parts = ["Sent " + COUNT.format(g.sent) + " of " + COUNT.format(g.total)];
    if (g.failed) parts.push(COUNT.format(g.failed) + " failed");
    if (g.unconfirmed) parts.push(COUNT.format(g.unconfirmed) + " not confirmed");
    if (g.remaining) parts.push(COUNT.format(g.remaining) + (ended ? " not sent" : " to go"));
    el.textContent = parts.join(" · ");
    if (g.expected_end_basis === "limit") {
      var held = HELD[g.waiting_for] || HELD.other;
      el.appendChild(document.createTextNode(". " + held[0] + ": " + held[1] + " "));
      el.appendChild(about(g.resumes_at));
    } else if (g.expected_end) {
      el.appendChild(document.createTextNode(" · done about "));
      el.appendChild(about(g.expected_end));
    }
  }

  /* A video on its way: "Uploading the video: 62 %", or "Facebook is processing the video". */
  function drawVideo(el, p, network) {
    var v = p.video;
    el.hidden = !v;
    if (!v) return;
    if (v.stage === "uploading") el.textContent = "Uploading the video: " + v.percent + " %";
    else if (v.stage === "processing") el.textContent = network + " is processing the video";
    else el.textContent = "Starting the video's upload";
  }

  function drawCard(p) {
    var card = document.getElementById("pub-" + p.id);
    if (!card) return;
    var network = LABELS.network[p.network] || p.network;
    card.className = card.className.replace(/\bstatus-\S+/, "status-" + p.status);
    badge(field(card, "status"), p.status);
    drawTimeline(field(card, "timeline"), p);
    var broadcast = field(card, "broadcast");
    if (broadcast) drawBroadcast(broadcast, p);
    var video = field(card, "video");
    if (video) drawVideo(video, p, network);
    field(card, "attempts").textContent = String(p.attempts);
    setContent(field(card, "published_at"), p.published_at ? time(p.published_at) : "—");
    if (p.external_id) {
      var code = document.createElement("code");
      code.textContent = p.external_id;
      setContent(field(card, "external_id"), code);
    } else setContent(field(card, "external_id"), "—");
    if (p.url) {
      var a = document.createElement("a");
      a.href = p.url; a.target = "_blank"; a.rel = "noopener noreferrer";
      a.textContent = "View on " + network;
      setContent(field(card, "url"), a);
    } else setContent(field(card, "url"), "—");
    var next = field(card, "next_attempt_at");
    /* Queued with a time: it waits for its place in the channel's spacing or a quota, and says why. */
    var waits = p.status === "queued" && p.next_attempt_at && p.last_error;
    next.hidden = !(waits || (p.status === "retrying" && p.next_attempt_at));
    if (waits) next.textContent = "Waits: " + p.last_error;
    else if (!next.hidden) { next.textContent = "Next try "; next.appendChild(time(p.next_attempt_at)); }
    var comment = field(card, "first_comment");
    if (comment) {
      comment.hidden = !p.first_comment;
      if (p.first_comment) comment.textContent = commentLine(p.first_comment);
    }
    var f = p.failure;
    field(card, "failure").hidden = !f;
    field(card, "failure-sentence").textContent = f ? f.sentence : "";
    field(card, "failure-who").textContent = f ? f.who_label : "";
    /* The fix's button: Reconnect the moment the channel needs it, Edit the photo, … (none for a viewer). */
    card.querySelectorAll("[data-fix]").forEach(function (b) { b.hidden = !f || f.fix !== b.dataset.fix; });
    var error = field(card, "last_error");
    error.hidden = !p.last_error || waits;
    /* Whose words these are: a network's, or socialpub's own (never "<Network> said" for those). */
    field(card, "said-by").textContent = f && f.said_by === "network" ? network + " said:" : "socialpub's details:";
    error.querySelector("blockquote").textContent = p.last_error || "";
    var retry = card.querySelector(".retry-form");  // none for a viewer
    if (retry) retry.hidden = RETRYABLE.indexOf(p.status) < 0 || p.channel_needs_reauth;
  }

  function draw(s) {
    badge(document.getElementById("post-status"), s.status);
    var total = s.publications.length, done = 0, published = 0;
    s.publications.forEach(function (p) {
      if (FINAL.indexOf(p.status) >= 0) done++;
      if (p.status === "published") published++;
      drawCard(p);
    });
    var bar = document.getElementById("progress");
    bar.setAttribute("aria-valuenow", String(done));
    /* Green for what was published, red for what finished without: a failure never shows green. */
    bar.querySelector(".progress-ok").style.width = (total ? Math.round(100 * published / total) : 0) + "%";
    bar.querySelector(".progress-bad").style.width = (total ? Math.round(100 * (done - published) / total) : 0) + "%";
    document.getElementById("progress-text").textContent =
      published + " of " + total + " published" + (done > published ? " · " + (done - published) + " not" : "");
    var publish = document.getElementById("publish-form");
    if (publish) publish.hidden = s.status !== "draft";
  }

  /* The first comment's line: the same words as the page's comment_line. */
  function commentLine(c) {
    if (c.status === "posted") return "First comment: posted.";
    if (c.status === "failed") return "First comment: not posted — " + (c.last_error || "") ;
    if (c.status === "sending") return "First comment: being posted.";
    return c.next_attempt_at ? "First comment: to be tried again." : "First comment: goes once the post is out.";
  }

  function inFlight(s) {
    return s.publications.some(function (p) { return IN_FLIGHT.indexOf(p.status) >= 0; });
  }

  /* Watched: a post on its way, or one scheduled (slowly: it goes out at its time). */
  function watched(s) { return inFlight(s) || s.status === "scheduled"; }

  /* "Publishing to 4 channels…" follows the outcome once every network is done. */
  function settleFlash(s) {
    var note = document.querySelector(".flash-progress");
    if (!note || inFlight(s) || s.status === "scheduled") return;
    var published = s.by_status.published || 0, total = s.publications.length, missed = total - published;
    note.className = "flash " + (missed ? "flash-error" : "flash-success");
    note.textContent = "Published to " + published + " of " + total + " channel" + (total === 1 ? "" : "s") +
      (missed ? "; " + missed + " did not go out — see below." : ".");
  }

  /* Poll fast while a network is being worked on; slower while only retries wait. */
  function delay(s) {
    var busy = s.publications.some(function (p) {
      return (p.status === "queued" && !p.next_attempt_at) || p.status === "processing";
    });
    if (busy) return FAST_MS;
    var soonest = SLOW_MS;
    s.publications.forEach(function (p) {
      if ((p.status === "retrying" || p.status === "queued") && p.next_attempt_at) {
        soonest = Math.min(soonest, Math.max(FAST_MS, new Date(p.next_attempt_at) - Date.now()));
      }
    });
    return soonest;
  }

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(poll, ms);
  }

  function poll() {
    fetch(root.dataset.statusUrl, {headers: {Accept: "application/json"}, cache: "no-store"})
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (s) {
        failures = 0;
        document.getElementById("connection-note").hidden = true;
        state = s;
        draw(s);
        settleFlash(s);
        if (!s.changeable) {  // a network's call started: no longer editable nor cancellable
          document.querySelectorAll("[data-while-unsent]").forEach(function (el) { el.hidden = true; });
        }
        if (inFlight(s)) { historyStale = true; schedule(delay(s)); }
        else if (s.status === "scheduled") schedule(SLOW_MS);
        else if (historyStale) { historyStale = false; refreshHistory(); }
      })
      .catch(function () {
        failures++;
        document.getElementById("connection-note").hidden = false;
        schedule(Math.min(FAST_MS * Math.pow(2, failures), MAX_BACKOFF_MS));
      });
  }

  /* Once everything has settled, the attempt history (from the post's full JSON). */
  function refreshHistory() {
    fetch(root.dataset.postUrl, {headers: {Accept: "application/json"}, cache: "no-store"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (post) {
        if (!post) return;
        post.publications.forEach(function (p) {
          var card = document.getElementById("pub-" + p.id);
          if (!card || !p.history) return;
          var list = field(card, "history");
          list.textContent = "";
          p.history.forEach(function (a) {
            var li = document.createElement("li"), b = document.createElement("span");
            b.className = "badge badge-" + a.outcome;
            b.textContent = label(a.outcome);
            li.appendChild(b);
            li.appendChild(document.createTextNode(" try " + a.number + ", "));
            li.appendChild(time(a.finished_at));
            if (a.error) li.appendChild(document.createTextNode(": " + a.error));
            list.appendChild(li);
          });
          list.closest("details").hidden = p.history.length === 0;
        });
      })
      .catch(function () { /* the history is a nicety; the status is already shown */ });
  }

  root.querySelectorAll(".retry-form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button"), message = form.querySelector(".retry-message");
      button.disabled = true;
      message.textContent = "Sending again…";
      fetch(form.action, {method: "POST", body: new FormData(form), headers: {Accept: "application/json"}})
        .then(function (r) {
          return r.json().catch(function () { return {}; }).then(function (body) { return {ok: r.ok, body: body}; });
        })
        .then(function (res) {
          message.textContent = res.ok ? "" : "Not retried: " + ((res.body.error && res.body.error.message) || "the server refused.");
          if (!res.ok) schedule(0);  // redraw from the server: a channel that needs reconnecting shows Reconnect
          if (res.ok) {
            var id = Number(form.closest("[data-publication]").dataset.publication);
            state.publications.forEach(function (p) { if (p.id === id) { p.status = "queued"; } });
            draw(state);
            historyStale = true;
            schedule(FAST_MS);
          }
        })
        .catch(function () { message.textContent = "Could not reach the server; try again."; })
        .then(function () { button.disabled = false; });
    });
  });

  draw(state);
  settleFlash(state);
  if (inFlight(state)) { historyStale = true; schedule(FAST_MS); }
  else if (watched(state)) schedule(SLOW_MS);
})();
