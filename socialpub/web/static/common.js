/* Shared by every page: stored times (UTC) shown in the reader's own time zone. */
(function () {
  "use strict";
  var FORMAT = {year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit"};

  function localTime(iso, withSeconds) {
    var d = new Date(iso);
    if (isNaN(d)) return iso;
    var options = Object.assign({}, FORMAT, withSeconds ? {second: "2-digit"} : {});
    return d.toLocaleString(undefined, options);
  }

  function localise(root) {
    (root || document).querySelectorAll("time[data-local]").forEach(function (el) {
      el.title = el.textContent;
      el.textContent = localTime(el.getAttribute("datetime"), el.hasAttribute("data-seconds"));
    });
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

  window.socialpub = {localTime: localTime, localise: localise};
  document.addEventListener("DOMContentLoaded", function () { localise(); fillTimeZone(); });
})();
