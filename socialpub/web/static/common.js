/* Shared by every page: every time shown, in one format, in the reader's own
   zone and locale. The server writes <time datetime="ISO">readable UTC</time>;
   localTime formats it here — on load, and whenever a script adds one later. */
(function () {
  "use strict";
  var DATE = {year: "numeric", month: "short", day: "numeric"};
  var CLOCK = Object.assign({hour: "2-digit", minute: "2-digit"}, DATE);
  var TIME = new Intl.DateTimeFormat(undefined, CLOCK);
  var UTC = new Intl.DateTimeFormat(undefined, Object.assign({timeZone: "UTC"}, CLOCK));
  // A day alone is a calendar date, not an instant: shown as written, whatever the zone.
  var DAY = new Intl.DateTimeFormat(undefined, Object.assign({timeZone: "UTC"}, DATE));

  /* The one way a time reads: an ISO 8601 string or a Date. */
  function localTime(value) {
    var d = value instanceof Date ? value : new Date(value);
    if (isNaN(d)) return String(value);
    return (typeof value === "string" && value.indexOf("T") < 0 ? DAY : TIME).format(d);
  }

  /* Parts of a date in the same locale and zone, for what is not a whole time:
     the calendar's month title, weekday names, day headings and clocks. */
  var PARTS = {
    month: {month: "long", year: "numeric"},
    weekday: {weekday: "short"},
    day: {weekday: "short", day: "numeric", month: "short"},
    date: {weekday: "long", day: "numeric", month: "long", year: "numeric"},
    clock: {hour: "numeric", minute: "2-digit"}  // 9:00 AM, 09:00: as short as the locale writes it
  };
  Object.keys(PARTS).forEach(function (part) { PARTS[part] = new Intl.DateTimeFormat(undefined, PARTS[part]); });
  function datePart(value, part) {
    var d = value instanceof Date ? value : new Date(value);
    return isNaN(d) ? String(value) : PARTS[part].format(d);
  }

  /* A <time> element for a script to insert: formatted like every other. */
  function timeElement(iso) {
    var t = document.createElement("time");
    t.setAttribute("datetime", iso);
    shown(t);
    return t;
  }

  function localise(root) {
    var found = root.matches && root.matches("time[datetime]") ? [root] : [];
    Array.prototype.push.apply(found, root.querySelectorAll ? root.querySelectorAll("time[datetime]") : []);
    found.forEach(function (el) { if (!el.hasAttribute("data-shown")) shown(el); });
  }

  function shown(el) {
    var iso = el.getAttribute("datetime"), d = new Date(iso);
    el.dataset.shown = "";
    el.textContent = localTime(iso);
    if (!isNaN(d) && iso.indexOf("T") >= 0) el.title = UTC.format(d) + " UTC";
  }

  /* The page's own times once parsed, then those a script adds later (live
     updates, tables redrawn) as they come: all read the same. */
  function localiseAll() {
    localise(document);
    new MutationObserver(function (changes) {
      changes.forEach(function (change) {
        change.addedNodes.forEach(function (node) { if (node.nodeType === 1) localise(node); });
      });
    }).observe(document.body, {childList: true, subtree: true});
  }

  /* A "Schedule for" field means the reader's wall-clock time: send their zone with it. */
  function fillTimeZone() {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!zone) return;
    document.querySelectorAll("input[name=timezone]").forEach(function (el) { el.value = zone; });
    document.querySelectorAll("[data-timezone]").forEach(function (el) { el.textContent = zone; });
    /* A post being edited: its time (data-utc) shown as the reader's wall-clock time. */
    document.querySelectorAll("input[type=datetime-local][data-utc]").forEach(function (el) {
      if (el.value) return;
      var d = new Date(el.dataset.utc), pad = function (n) { return String(n).padStart(2, "0"); };
      el.value = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" +
        pad(d.getHours()) + ":" + pad(d.getMinutes());
    });
  }

  /* A form that destroys something asks first (data-confirm holds the question). */
  document.addEventListener("submit", function (event) {
    var form = event.target, question = form.dataset && form.dataset.confirm;
    if (form.id === "bulk-form" && form.elements.action.value === "delete") {
      var ticked = document.querySelectorAll("input[name=ids][form=bulk-form]:checked").length;
      question = "Delete " + ticked + " post" + (ticked === 1 ? "" : "s") + "? This cannot be undone.";
    }
    if (question && !window.confirm(question)) event.preventDefault();
  });

  /* A Copy button copies the text of the element it names (data-copy), and says so. */
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) return;
    var text = document.getElementById(button.dataset.copy).textContent.trim();
    var done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { select(button.dataset.copy); });
    } else {
      select(button.dataset.copy);
      try { if (document.execCommand("copy")) done(); } catch (ignored) { /* selected: Ctrl+C copies it */ }
    }
  });
  function select(id) {
    var range = document.createRange();
    range.selectNodeContents(document.getElementById(id));
    var selection = window.getSelection();
    selection.removeAllRanges(); selection.addRange(range);
  }

  window.socialpub = {localTime: localTime, timeElement: timeElement, datePart: datePart};
  document.addEventListener("DOMContentLoaded", function () { localiseAll(); fillTimeZone(); });
})();
