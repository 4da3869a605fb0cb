/* The content calendar, drawn here in the viewer's time zone from the
   calendar JSON: a month (six weeks from a Monday) or a week (seven days by
   hour). A scheduled post moves by dragging it to another day or hour, or
   with its Move button (a dialog with a time field: the keyboard way); a
   draft, listed above the grid, is scheduled the same way; a day's + opens
   the compose form at that time (moving and +: for those whose role may, to
   whom the page gives the URLs). It reloads every 10 s, so a
   post that goes out changes colour without a reload.

   Every date and clock goes through common.js's formatter (socialpub.datePart),
   in the viewer's locale. A post shows its networks as coloured marks with
   their letters (the legend's), its status as an icon and a border, and its
   text on up to three lines. The channels' free posting times are one quiet
   line per day ("2 free times"), opened to list them. On a phone (under 40rem)
   the month's days show a dot per network only; tapping one lists that day's posts
   in full under the grid. */
(function () {
  "use strict";
  var root = document.getElementById("calendar");
  if (!root) return;
  var message = document.getElementById("calendar-message");
  var title = document.getElementById("calendar-title");
  var dialog = document.getElementById("move-dialog");
  var csrf = (document.querySelector("meta[name=csrf-token]") || {}).content;
  var view = root.dataset.view;
  var anchor = root.dataset.date ? parseDay(root.dataset.date) : today();
  var posts = [], drafts = [], slots = [], moving = null;
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  var editor = Boolean(root.dataset.moveUrl);
  var format = window.socialpub.datePart;
  var LETTERS = {facebook: "f", instagram: "IG", linkedin: "in", whatsapp: "WA"};
  // The icon says the status without its colour; the words are read out and shown on hover.
  var STATUS = {
    draft: ["✎", "Draft"], scheduled: ["◷", "Scheduled"], awaiting_approval: ["⋯", "Waiting for approval"],
    publishing: ["↻", "Publishing"], published: ["✓", "Published"],
    partially_published: ["◐", "Partially published"], failed: ["✕", "Failed"]
  };
  var selectedDay = null;   // the phone's day listed under the month
  var openFree = {};        // the free-time lists left open, kept across the 10 s redraws
  var focusPost = null;     // the post to focus once drawn (the one just moved)

  function today() { var d = new Date(); d.setHours(0, 0, 0, 0); return d; }
  function parseDay(text) {
    var m = /^(\d{4})-(\d\d)-(\d\d)$/.exec(text);
    return m ? new Date(+m[1], +m[2] - 1, +m[3]) : today();
  }
  function pad(n) { return String(n).padStart(2, "0"); }
  function dayKey(d) { return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()); }
  function localValue(d) {  // a datetime-local value; seconds only when there are some
    return dayKey(d) + "T" + pad(d.getHours()) + ":" + pad(d.getMinutes()) + (d.getSeconds() ? ":" + pad(d.getSeconds()) : "");
  }
  function addDays(d, n) { var c = new Date(d); c.setDate(c.getDate() + n); return c; }
  function monday(d) { return addDays(d, -((d.getDay() + 6) % 7)); }
  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function shown(e) { return e.getClientRects().length > 0; }

  function range() {
    if (view === "week") { var s = monday(anchor); return [s, addDays(s, 7)]; }
    var first = new Date(anchor.getFullYear(), anchor.getMonth(), 1), start = monday(first);
    return [start, addDays(start, 42)];
  }

  function say(text, isError) {
    message.textContent = text;
    message.className = isError ? "notice notice-error" : "";
    message.setAttribute("role", isError ? "alert" : "status");
  }

  function load() {
    var r = range();
    var url = root.dataset.apiUrl + "?from=" + encodeURIComponent(r[0].toISOString()) +
      "&to=" + encodeURIComponent(r[1].toISOString());
    return fetch(url, {headers: {Accept: "application/json"}, credentials: "same-origin"})
      .then(function (response) { return response.json().then(function (body) { return [response, body]; }); })
      .then(function (pair) {
        if (!pair[0].ok) { say(pair[1].error ? pair[1].error.message : "The calendar could not be loaded.", true); return; }
        posts = pair[1].items; drafts = pair[1].drafts; slots = pair[1].slots || [];
        draw();
        if (pair[1].truncated) say("This period has more posts than the calendar shows; the posts list has them all.", true);
      })
      .catch(function () { say("The calendar could not be loaded: is the server running?", true); });
  }

  /* A network's mark: its colour and letters, as in the legend. */
  function mark(network, name) {
    var m = el("span", "cal-net cal-net-" + network, LETTERS[network] || network.charAt(0));
    m.title = name; m.setAttribute("aria-hidden", "true");
    return m;
  }

  function chip(post) {
    var at = post.at ? new Date(post.at) : null;
    var status = STATUS[post.status] || ["•", post.status.replace(/_/g, " ")];
    var item = el("li", "cal-post status-" + post.status);
    item.dataset.id = post.id;
    item.dataset.status = post.status;
    if (post.movable && editor) {
      item.draggable = true;
      item.addEventListener("dragstart", function (e) {
        e.dataTransfer.setData("text/plain", String(post.id));
        e.dataTransfer.effectAllowed = "move";
      });
    }
    var head = el("span", "cal-post-head");
    var icon = el("span", "cal-status", status[0]);
    icon.title = status[1]; icon.setAttribute("aria-hidden", "true");
    head.appendChild(icon);
    if (at) head.appendChild(el("span", "cal-time", format(at, "clock")));
    var nets = el("span", "cal-nets");
    post.channels.forEach(function (c) { nets.appendChild(mark(c.network, c.name)); });
    head.appendChild(nets);
    var link = el("a", "cal-text");
    link.href = root.dataset.postUrl.replace(/0$/, post.id);
    link.title = post.text;
    link.textContent = post.text;
    // Read out whole: what the icon, the time and the marks show beside it.
    link.setAttribute("aria-label", (at ? format(at, "clock") + ", " : "") + status[1] + ", " +
      post.channels.map(function (c) { return c.name; }).join(", ") + ": " + post.text);
    if (post.movable && editor) {
      var move = el("button", "btn-link cal-move", post.at ? "Move" : "Schedule");
      move.type = "button";
      move.setAttribute("aria-label", (post.at ? "Move post " : "Schedule post ") + post.id + (post.at ? " to another time" : ""));
      move.addEventListener("click", function () { openMove(post); });
      head.appendChild(move);
    }
    item.appendChild(head); item.appendChild(link);
    return item;
  }

  function dropTarget(cell, when) {
    cell.addEventListener("dragover", function (e) { e.preventDefault(); cell.classList.add("over"); });
    cell.addEventListener("dragleave", function () { cell.classList.remove("over"); });
    cell.addEventListener("drop", function (e) {
      e.preventDefault(); e.stopPropagation(); cell.classList.remove("over");
      var id = e.dataTransfer.getData("text/plain");
      var post = posts.concat(drafts).filter(function (p) { return String(p.id) === id; })[0];
      // A draft has no time yet: 09:00, or the hour it is dropped on.
      if (post) move(post, when(post.at ? new Date(post.at) : new Date(2000, 0, 1, 9, 0)));
    });
  }

  function newPostLink(day, hour, words) {
    if (!editor) return document.createTextNode("");
    var at = new Date(day); at.setHours(hour, 0, 0, 0);
    var a = el("a", "cal-new", words || "+");
    a.href = root.dataset.composeUrl + "?at=" + encodeURIComponent(localValue(at));
    a.setAttribute("aria-label", "New post on " + format(at, "date") + (view === "week" ? " at " + format(at, "clock") : ""));
    return a;
  }

  function key(at) { return dayKey(at) + (view === "week" ? "T" + at.getHours() : ""); }

  function draw() {
    var r = range(), grid = el("div", "cal-grid");
    grid.setAttribute("role", "grid");
    var heads = el("div", "cal-row cal-heads");
    heads.setAttribute("role", "row");
    for (var i = 0; i < 7; i++) {
      var head = el("div", "cal-head", format(addDays(r[0], i), view === "week" ? "day" : "weekday"));
      head.setAttribute("role", "columnheader");
      heads.appendChild(head);
    }
    grid.appendChild(heads);
    var byDay = {}, freeByDay = {};
    posts.forEach(function (p) { var k = key(new Date(p.at)); (byDay[k] = byDay[k] || []).push(p); });
    slots.forEach(function (s) { var k = key(new Date(s.at)); (freeByDay[k] = freeByDay[k] || []).push(s); });
    var daylist = null;
    if (view === "month") {
      title.textContent = "Calendar — " + format(anchor, "month");
      var inMonth = function (k) { return k && parseDay(k).getMonth() === anchor.getMonth() && parseDay(k).getFullYear() === anchor.getFullYear(); };
      if (!inMonth(selectedDay)) selectedDay = inMonth(dayKey(today())) ? dayKey(today()) : dayKey(new Date(anchor.getFullYear(), anchor.getMonth(), 1));
      for (var w = 0; w < 6; w++) {
        var row = el("div", "cal-row");
        row.setAttribute("role", "row");
        for (var d = 0; d < 7; d++) row.appendChild(monthCell(addDays(r[0], w * 7 + d), byDay, freeByDay));
        grid.appendChild(row);
      }
      daylist = dayList(parseDay(selectedDay), byDay[selectedDay], freeByDay[selectedDay]);
    } else {
      title.textContent = "Calendar — week of " + format(r[0], "date");
      for (var h = 0; h < 24; h++) {
        var hourRow = el("div", "cal-row");
        hourRow.setAttribute("role", "row");
        for (var wd = 0; wd < 7; wd++) hourRow.appendChild(hourCell(addDays(r[0], wd), h, byDay, freeByDay));
        grid.appendChild(hourRow);
      }
    }
    var keep = focused();
    root.textContent = "";
    if (drafts.length) {
      var tray = el("section", "cal-drafts card");
      tray.setAttribute("aria-label", "Drafts to schedule");
      tray.appendChild(el("h2", "", editor ? "Drafts — drag one onto a day to schedule it" : "Drafts"));
      tray.appendChild(cellList(drafts));
      root.appendChild(tray);
    }
    root.appendChild(grid);
    if (daylist) root.appendChild(daylist);
    refocus(keep);
  }

  /* What had the focus before a redraw (a post's link or button, a day, a free-time list),
     found again after it: the 10 s reload must not drop a keyboard user back to the page's top. */
  function focused() {
    if (focusPost !== null) { var id = focusPost; focusPost = null; return {post: id, part: ".cal-text"}; }
    var active = document.activeElement;
    if (!active || !root.contains(active)) return null;
    var post = active.closest("[data-id]"), cell = active.closest("[data-day]");
    if (post) return {post: post.dataset.id, part: active.classList.contains("cal-move") ? ".cal-move" : ".cal-text"};
    if (active.classList.contains("cal-pick")) return {pick: active.dataset.pick};
    if (cell && active.tagName === "SUMMARY") return {summary: cell.dataset.day + (cell.dataset.hour ? "T" + cell.dataset.hour : "")};
    return null;
  }
  function refocus(keep) {
    if (!keep) return;
    var found = [];
    if (keep.post !== undefined) found = root.querySelectorAll("[data-id='" + keep.post + "'] " + keep.part);
    else if (keep.pick) found = root.querySelectorAll(".cal-pick[data-pick='" + keep.pick + "']");
    else if (keep.summary) found = root.querySelectorAll("[data-free='" + keep.summary + "'] summary");
    // The shown one: on a phone the grid's copy is hidden and the day's list has it.
    var target = Array.prototype.filter.call(found, shown)[0];
    if (target) target.focus();
  }

  function cellList(items) {
    var list = el("ul", "cal-posts");
    (items || []).slice().sort(function (a, b) { return (a.at || "") < (b.at || "") ? -1 : 1; })
      .forEach(function (p) { list.appendChild(chip(p)); });
    return list;
  }

  /* A day's (or hour's) free posting times as one quiet line; opened, each
     time with its channels, where a post dropped takes that very time. */
  function freeHint(free, where) {
    if (!free || !free.length) return document.createTextNode("");
    var times = {}, order = [];
    free.forEach(function (s) {
      if (!times[s.at]) { times[s.at] = []; order.push(s.at); }
      times[s.at].push(s.channel);
    });
    order.sort();
    var box = el("details", "cal-free");
    box.dataset.free = where;
    box.open = Boolean(openFree[where]);
    box.addEventListener("toggle", function () { openFree[where] = box.open; });
    var words = order.length + " free time" + (order.length === 1 ? "" : "s");
    var summary = el("summary", "", words);
    summary.title = order.map(function (at) {
      return format(at, "clock") + " " + times[at].map(function (c) { return c.name; }).join(", ");
    }).join("; ");
    summary.setAttribute("aria-label", words + ": " + summary.title);
    box.appendChild(summary);
    var list = el("ul", "cal-slots");
    order.forEach(function (iso) {
      var at = new Date(iso), item = el("li", "cal-slot");
      item.appendChild(el("span", "cal-time", format(at, "clock")));
      times[iso].forEach(function (c) { item.appendChild(mark(c.network, c.name)); });
      item.title = "A free posting time of " + times[iso].map(function (c) { return c.name; }).join(", ");
      dropTarget(item, function () { return at; });
      list.appendChild(item);
    });
    box.appendChild(list);
    return box;
  }

  function monthCell(day, byDay, freeByDay) {
    var k = dayKey(day), items = byDay[k] || [];
    var cell = el("div", "cal-cell" + (day.getMonth() !== anchor.getMonth() ? " other-month" : "") +
      (k === dayKey(today()) ? " today" : "") + (k === selectedDay ? " selected" : ""));
    cell.setAttribute("role", "gridcell");
    cell.dataset.day = k;
    var top = el("div", "cal-day");
    top.appendChild(el("span", "cal-num", day.getDate()));
    // The phone's way into a day: its number, a button that lists the day under the month.
    var pick = el("button", "cal-pick", day.getDate());
    pick.type = "button"; pick.dataset.pick = k;
    pick.setAttribute("aria-pressed", String(k === selectedDay));
    pick.setAttribute("aria-label", format(day, "date") + ": " + (items.length ? items.length + " post" + (items.length === 1 ? "" : "s") : "no posts"));
    pick.addEventListener("click", function () { selectedDay = k; draw(); });
    top.appendChild(pick);
    top.appendChild(newPostLink(day, 9));
    cell.appendChild(top);
    var dots = el("span", "cal-marks");
    dots.setAttribute("aria-hidden", "true");
    var networks = [];  // a dot per network the day's posts go to, in the legend's order
    items.forEach(function (p) { p.channels.forEach(function (c) { if (networks.indexOf(c.network) < 0) networks.push(c.network); }); });
    Object.keys(LETTERS).filter(function (n) { return networks.indexOf(n) >= 0; })
      .forEach(function (n) { dots.appendChild(el("span", "cal-mark cal-net-" + n)); });
    cell.appendChild(dots);
    cell.appendChild(cellList(items));
    cell.appendChild(freeHint(freeByDay[k], k));
    // On a phone the whole day is the target a finger aims at, not only its number.
    cell.addEventListener("click", function (e) {
      if (shown(pick) && !e.target.closest("a, button, summary")) { pick.focus(); pick.click(); }
    });
    dropTarget(cell, function (old) {  // the same time of day, on this day
      var at = new Date(day); at.setHours(old.getHours(), old.getMinutes(), 0, 0); return at;
    });
    return cell;
  }

  /* Under the month on a phone: the chosen day's posts in full, its free times, a new post. */
  function dayList(day, items, free) {
    var box = el("section", "cal-daylist card");
    box.dataset.day = dayKey(day);
    box.setAttribute("aria-label", "Posts on " + format(day, "date"));
    var head = el("div", "cal-daylist-head");
    head.appendChild(el("h2", "", format(day, "date")));
    head.appendChild(newPostLink(day, 9, "+ New post"));
    box.appendChild(head);
    if (items && items.length) box.appendChild(cellList(items));
    else box.appendChild(el("p", "muted", "No posts on this day."));
    box.appendChild(freeHint(free, "list-" + dayKey(day)));
    return box;
  }

  function hourCell(day, hour, byDay, freeByDay) {
    var k = dayKey(day) + "T" + hour, at = new Date(day);
    at.setHours(hour, 0, 0, 0);
    var cell = el("div", "cal-cell cal-hour");
    cell.setAttribute("role", "gridcell");
    cell.dataset.day = dayKey(day); cell.dataset.hour = hour;
    var top = el("div", "cal-day");
    top.appendChild(el("span", "muted", format(at, "clock")));
    top.appendChild(newPostLink(day, hour));
    cell.appendChild(top);
    cell.appendChild(cellList(byDay[k]));
    cell.appendChild(freeHint(freeByDay[k], k));
    dropTarget(cell, function (old) {  // this hour, keeping the minutes
      var when = new Date(day); when.setHours(hour, old.getMinutes(), 0, 0); return when;
    });
    return cell;
  }

  function move(post, at) {
    say("Moving post " + post.id + "…");
    return fetch(root.dataset.moveUrl, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf},
      // The version shown: a post someone changed since is refused (409), not moved over their change.
      body: JSON.stringify({post_id: post.id, scheduled_at: localValue(at), timezone: zone, version: post.version})
    }).then(function (response) {
      return response.json().then(function (body) {
        focusPost = post.id;  // moved or not, the keyboard stays on the post
        if (response.status === 409 && body.error && body.error.code === "stale") {
          // Said, then the calendar redrawn with the post as it is now (load() leaves the message).
          say(body.error.message, true); return load();
        }
        if (!response.ok) { say("Not moved: " + (body.error ? body.error.message : response.status), true); return load(); }
        say("Post " + post.id + " moved to " + window.socialpub.localTime(at) + ".");
        // Shown where it went: its month or week, and on a phone its day.
        var r = range();
        if (at < r[0] || at >= r[1] || (view === "month" && at.getMonth() !== anchor.getMonth())) {
          anchor = new Date(at); anchor.setHours(0, 0, 0, 0);
          history.replaceState(null, "", "?view=" + view + "&date=" + dayKey(anchor));
        }
        selectedDay = dayKey(at);
        return load();
      });
    }).catch(function () { say("Not moved: the server did not answer.", true); });
  }

  function openMove(post) {
    moving = post;
    dialog.returnValue = "";  // Escape keeps the last value: it must not move again
    document.getElementById("move-at").value = post.at ? localValue(new Date(post.at)) : "";
    dialog.showModal();
  }
  // Cancel is a plain button, so Enter in the time field submits with Move, the form's only submit button.
  document.getElementById("move-cancel").addEventListener("click", function () { dialog.close("cancel"); });
  dialog.addEventListener("close", function () {
    var value = document.getElementById("move-at").value;
    if (dialog.returnValue === "move" && moving && value) move(moving, new Date(value));
    moving = null;
  });

  document.querySelectorAll("[data-step]").forEach(function (button) {
    button.addEventListener("click", function () {
      var step = +button.dataset.step;
      if (step === 0) anchor = today();
      else if (view === "week") anchor = addDays(anchor, 7 * step);
      else anchor = new Date(anchor.getFullYear(), anchor.getMonth() + step, 1);
      history.replaceState(null, "", "?view=" + view + "&date=" + dayKey(anchor));
      load();
    });
  });

  load();
  setInterval(function () { if (!document.hidden && !dialog.open) load(); }, 10000);
})();
