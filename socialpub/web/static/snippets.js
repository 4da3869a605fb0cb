/* The compose form's snippets (campaigns/snippets.py): the menu inserts the chosen one into the text
 * last written in — a channel's version gets that network's variant —, and typing /shortcut followed by
 * a space or a new line replaces it by the snippet. An "input" event follows each insertion, so the
 * versions, counters and warnings (compose.js) follow as if it had been typed. */
(function () {
  "use strict";
  var form = document.getElementById("compose");
  var data = document.getElementById("snippets-data");
  if (!form || !data) return;
  var SNIPPETS = JSON.parse(data.textContent);
  if (!SNIPPETS.length) return;
  var byShortcut = {}, byId = {};
  SNIPPETS.forEach(function (s) { byShortcut[s.shortcut] = s; byId[String(s.id)] = s; });
  var SHORTCUT = /(^|\s)\/([a-z0-9][a-z0-9_-]{0,29})(\s)$/;
  var last = form.elements.text;

  function networkOf(area) {
    var pane = area.closest(".pane[data-network]");
    return pane ? pane.dataset.network : null;
  }
  function textFor(snippet, area) {
    var network = networkOf(area);
    return (network && snippet.variants[network]) || snippet.body;
  }
  function insert(area, start, end, words) {
    area.value = area.value.slice(0, start) + words + area.value.slice(end);
    var caret = start + words.length;
    area.setSelectionRange(caret, caret);
    area.dispatchEvent(new Event("input", {bubbles: true}));
  }
  function areas() { return form.querySelectorAll('textarea[name="text"], .pane textarea'); }

  Array.prototype.forEach.call(areas(), function (area) {
    area.addEventListener("focus", function () { last = area; });
    area.addEventListener("input", function (event) {
      if (event.isComposing || area.selectionStart !== area.selectionEnd) return;
      var before = area.value.slice(0, area.selectionStart), found = SHORTCUT.exec(before);
      if (!found || !byShortcut[found[2]]) return;
      var start = before.length - found[2].length - 1 - found[3].length;
      insert(area, start, area.selectionStart, textFor(byShortcut[found[2]], area) + found[3]);
    });
  });

  var menu = document.getElementById("snippet-menu");
  if (menu) menu.addEventListener("change", function () {
    var snippet = byId[menu.value];
    menu.value = "";
    if (!snippet) return;
    var area = last || form.elements.text, at = area.selectionStart, words = textFor(snippet, area);
    var before = area.value.slice(0, at), gap = before && !/\s$/.test(before) ? "\n\n" : "";
    insert(area, at, area.selectionEnd, gap + words);
    area.focus();
  });
})();
