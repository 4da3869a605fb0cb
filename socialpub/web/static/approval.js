// The compose form's approval outlook, for an editor: which ticked channels
// wait for an admin's approval and which go out as asked, said before the click
// (lifecycle/review.py decides the same on the server).
(function () {
  'use strict';
  var outlook = document.getElementById('approval-outlook');
  if (!outlook) return;
  var labels = JSON.parse(outlook.dataset.labels);
  var needs = JSON.parse(outlook.dataset.needs).map(String);
  var boxes = Array.prototype.slice.call(document.querySelectorAll('input[name="channels"]'));

  function spoken(names) {
    return names.length === 1 ? names[0] : names.slice(0, -1).join(', ') + ' and ' + names[names.length - 1];
  }

  function say() {
    var ticked = boxes.filter(function (b) { return b.checked; });
    var waits = ticked.filter(function (b) { return needs.indexOf(b.value) >= 0; }).map(function (b) { return labels[b.value]; });
    var goes = ticked.filter(function (b) { return needs.indexOf(b.value) < 0; }).map(function (b) { return labels[b.value]; });
    var waitVerb = waits.length === 1 ? ' waits' : ' wait';
    if (!waits.length) {
      outlook.textContent = '';
    } else if (!goes.length) {
      outlook.textContent = spoken(waits) + waitVerb + " for an admin's approval before going out.";
    } else {
      outlook.textContent = spoken(goes) + (goes.length === 1 ? ' goes' : ' go') + ' out now (or at the time you schedule); ' +
        spoken(waits) + waitVerb + " for an admin's approval.";
    }
  }

  boxes.forEach(function (b) { b.addEventListener('change', say); });
  say();
}());
