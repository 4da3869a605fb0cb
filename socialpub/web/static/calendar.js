/* The content calendar, drawn here in the viewer's time zone from the
   calendar JSON: a month (six weeks from a Monday) or a week (seven days by
   hour). A scheduled post moves by dragging it to another day or hour, or
   with its Move button (a dialog with a time field: the keyboard way); a
   draft, listed above the grid, is scheduled the same way; a day's + opens
   the compose form at that time (moving and +: for those whose role may, to
   whom the page gives the URLs). It reloads every 10 s, so a
   post that goes out changes colour without a reload. */
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

  function chip(post) {
    var at = post.at ? new Date(post.at) : null;
    var item = document.createElement("li");
    item.className = "cal-post status-" + post.status;
    item.dataset.id = post.id;
    if (post.movable && editor) {
      item.draggable = true;
      item.addEventListener("dragstart", function (e) {
        e.dataTransfer.setData("text/plain", String(post.id));
        e.dataTransfer.effectAllowed = "move";
      });
    }
    var dots = document.createElement("span");
    dots.className = "cal-dots";
    post.channels.forEach(function (c) {
      var dot = document.createElement("span");
      dot.className = "dot net-" + c.network; dot.title = c.name;
      dots.appendChild(dot);
    });
    var link = document.createElement("a");
    link.href = root.dataset.postUrl.replace(/0$/, post.id);
    link.textContent = (at ? pad(at.getHours()) + ":" + pad(at.getMinutes()) + " " : "") + post.text;
    link.title = post.text + " (" + post.status.replace("_", " ") + ")";
    item.appendChild(dots); item.appendChild(link);
    if (post.movable && editor) {
      var move = document.createElement("button");
      move.type = "button"; move.className = "btn-link cal-move"; move.textContent = "Move";
      move.textContent = post.at ? "Move" : "Schedule";
      move.setAttribute("aria-label", (post.at ? "Move post " : "Schedule post ") + post.id + (post.at ? " to another time" : ""));
      move.addEventListener("click", function () { openMove(post); });
      item.appendChild(move);
    }
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

  function newPostLink(day, hour) {
    if (!editor) return document.createTextNode("");
    var a = document.createElement("a");
    var at = new Date(day); at.setHours(hour, 0, 0, 0);
    a.href = root.dataset.composeUrl + "?at=" + encodeURIComponent(localValue(at));
    a.className = "cal-new"; a.textContent = "+";
    a.setAttribute("aria-label", "New post on " + at.toLocaleDateString() + (view === "week" ? " at " + hour + ":00" : ""));
    return a;
  }

  function draw() {
    var r = range(), grid = document.createElement("div");
    grid.className = "cal-grid";
    grid.setAttribute("role", "grid");
    var heads = document.createElement("div");
    heads.className = "cal-row cal-heads"; heads.setAttribute("role", "row");
    for (var i = 0; i < 7; i++) {
      var head = document.createElement("div");
      head.className = "cal-head"; head.setAttribute("role", "columnheader");
      head.textContent = addDays(r[0], i).toLocaleDateString(undefined, view === "week"
        ? {weekday: "short", day: "numeric", month: "short"} : {weekday: "short"});
      heads.appendChild(head);
    }
    grid.appendChild(heads);
    var byDay = {};
    function key(at) { return dayKey(at) + (view === "week" ? "T" + at.getHours() : ""); }
    posts.forEach(function (p) { var k = key(new Date(p.at)); (byDay[k] = byDay[k] || []).push(p); });
    freeByDay = {};
    slots.forEach(function (s) { var k = key(new Date(s.at)); (freeByDay[k] = freeByDay[k] || []).push(s); });
    if (view === "month") {
      title.textContent = "Calendar — " + anchor.toLocaleDateString(undefined, {month: "long", year: "numeric"});
      for (var w = 0; w < 6; w++) {
        var row = document.createElement("div");
        row.className = "cal-row"; row.setAttribute("role", "row");
        for (var d = 0; d < 7; d++) row.appendChild(monthCell(addDays(r[0], w * 7 + d), byDay));
        grid.appendChild(row);
      }
    } else {
      title.textContent = "Calendar — week of " + r[0].toLocaleDateString(undefined, {day: "numeric", month: "long", year: "numeric"});
      for (var h = 0; h < 24; h++) {
        var hourRow = document.createElement("div");
        hourRow.className = "cal-row"; hourRow.setAttribute("role", "row");
        for (var wd = 0; wd < 7; wd++) hourRow.appendChild(hourCell(addDays(r[0], wd), h, byDay));
        grid.appendChild(hourRow);
      }
    }
    root.textContent = "";
    if (drafts.length) {
      var tray = document.createElement("section");
      tray.className = "cal-drafts card";
      tray.setAttribute("aria-label", "Drafts to schedule");
      var heading = document.createElement("h2");
      heading.textContent = editor ? "Drafts — drag one onto a day to schedule it" : "Drafts";
      tray.appendChild(heading); tray.appendChild(cellList(drafts));
      root.appendChild(tray);
    }
    root.appendChild(grid);
  }

  var freeByDay = {};

  function cellList(items, free) {
    var list = document.createElement("ul");
    list.className = "cal-posts";
    (items || []).slice().sort(function (a, b) { return (a.at || "") < (b.at || "") ? -1 : 1; }).forEach(function (p) { list.appendChild(chip(p)); });
    (free || []).forEach(function (slot) { list.appendChild(freeSlot(slot)); });
    return list;
  }

  /* A channel's free posting time: a post dropped on it takes that very time. */
  function freeSlot(slot) {
    var at = new Date(slot.at), item = document.createElement("li");
    item.className = "cal-slot";
    var dot = document.createElement("span");
    dot.className = "dot net-" + slot.channel.network; dot.title = slot.channel.name;
    item.appendChild(dot);
    item.appendChild(document.createTextNode(" " + pad(at.getHours()) + ":" + pad(at.getMinutes()) + " free"));
    item.title = "A free posting time of " + slot.channel.name;
    dropTarget(item, function () { return at; });
    return item;
  }

  function monthCell(day, byDay) {
    var cell = document.createElement("div");
    cell.className = "cal-cell" + (day.getMonth() !== anchor.getMonth() ? " other-month" : "") +
      (dayKey(day) === dayKey(today()) ? " today" : "");
    cell.setAttribute("role", "gridcell");
    cell.dataset.day = dayKey(day);
    var top = document.createElement("div");
    top.className = "cal-day";
    var number = document.createElement("span");
    number.textContent = day.getDate();
    top.appendChild(number); top.appendChild(newPostLink(day, 9));
    cell.appendChild(top); cell.appendChild(cellList(byDay[dayKey(day)], freeByDay[dayKey(day)]));
    dropTarget(cell, function (old) {  // the same time of day, on this day
      var at = new Date(day); at.setHours(old.getHours(), old.getMinutes(), 0, 0); return at;
    });
    return cell;
  }

  function hourCell(day, hour, byDay) {
    var cell = document.createElement("div");
    cell.className = "cal-cell cal-hour"; cell.setAttribute("role", "gridcell");
    cell.dataset.day = dayKey(day); cell.dataset.hour = hour;
    var top = document.createElement("div");
    top.className = "cal-day";
    var label = document.createElement("span");
    label.className = "muted"; label.textContent = pad(hour) + ":00";
    top.appendChild(label); top.appendChild(newPostLink(day, hour));
    cell.appendChild(top); cell.appendChild(cellList(byDay[dayKey(day) + "T" + hour], freeByDay[dayKey(day) + "T" + hour]));
    dropTarget(cell, function (old) {  // this hour, keeping the minutes
      var at = new Date(day); at.setHours(hour, old.getMinutes(), 0, 0); return at;
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
        if (response.status === 409 && body.error && body.error.code === "stale") {
          // Said, then the calendar redrawn with the post as it is now (load() leaves the message).
          say(body.error.message, true); return load();
        }
        if (!response.ok) { say("Not moved: " + (body.error ? body.error.message : response.status), true); return; }
        say("Post " + post.id + " moved to " + window.socialpub.localTime(at) + ".");
        return load();
      });
    }).catch(function () { say("Not moved: the server did not answer.", true); });
  }

  function openMove(post) {
    moving = post;
    document.getElementById("move-at").value = post.at ? localValue(new Date(post.at)) : "";
    dialog.showModal();
  }
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
