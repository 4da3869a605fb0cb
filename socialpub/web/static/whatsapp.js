/* The compose form's WhatsApp messages, one block per number (in its pane):
   the chosen template's body parameters (rebuilt when another is chosen), a
   preview of the message as the recipient sees it, with {text} (the number's
   own text, its pane's) and {link} filled in, and how many of the chosen
   audience it actually reaches (the server's words, by how it is sent). Each
   block's ids end with its suffix: none for the one number, "-12" / "_12" for
   each of several (templates/web/whatsapp_message.html). */
(function () {
  "use strict";
  var link = document.getElementById("link");
  Array.prototype.forEach.call(document.querySelectorAll("fieldset.wa-message"), function (block) {
    var s = block.dataset.suffix || "", d = s.replace("_", "-");
    setUp(block, s, d);
  });

  function setUp(block, s, d) {
    var select = document.getElementById("whatsapp_template" + s);
    var templates = JSON.parse(document.getElementById("wa-templates" + d).textContent);
    var body = document.getElementById("wa-body" + d);
    var preview = document.getElementById("wa-preview" + d);
    var pane = block.closest(".pane");
    var text = pane ? pane.querySelector("textarea") : document.getElementById("text");
    var audience = document.getElementById("whatsapp_audience" + s);
    var reached = document.getElementById("wa-reach" + d);
    var reach = JSON.parse(document.getElementById("wa-reach-words" + d).textContent);

    function chosen() {
      for (var i = 0; i < templates.length; i++) if (templates[i].key === select.value) return templates[i];
      return null;
    }
    function oneLine(value) {
      return value.trim().replace(/\s*\n\s*/g, " · ").replace(/[\t ]{2,}/g, " ");
    }
    function filled(value) {
      return value.split("{text}").join(oneLine(text ? text.value : ""))
                  .split("{link}").join(link ? link.value.trim() : "");
    }
    function inputs() { return body.querySelectorAll('input[name="whatsapp_body' + s + '"]'); }

    function rebuild() {
      var template = chosen();
      var old = inputs();
      for (var i = 0; i < old.length; i++) { old[i].previousElementSibling.remove(); old[i].remove(); }
      if (!template) { render(); return; }
      var hint = body.querySelector(".hint");
      for (var n = 1; n <= template.body; n++) {
        var label = document.createElement("label");
        label.htmlFor = "whatsapp_body" + s + "_" + n;
        label.textContent = "Body {{" + n + "}}";
        var input = document.createElement("input");
        input.type = "text"; input.id = "whatsapp_body" + s + "_" + n; input.name = "whatsapp_body" + s;
        input.value = n === 1 ? "{text}" : "";
        body.insertBefore(label, hint); body.insertBefore(input, hint);
      }
      render();
    }

    function render() {
      var template = chosen();
      // The pane's own preview shows the free-form message; a template replaces it.
      var freeForm = pane && pane.querySelector(".preview-box");
      if (freeForm) freeForm.hidden = !!template;
      var header = preview.querySelector(".wa-header"), footer = preview.querySelector(".wa-footer");
      var out = preview.querySelector(".wa-text");
      if (!template) {
        out.textContent = text ? text.value : "";
        header.hidden = footer.hidden = true;
        return;
      }
      var values = Array.prototype.map.call(inputs(), function (input) { return filled(input.value); });
      out.textContent = template.preview.body.replace(/\{\{(\d+)\}\}/g, function (whole, n) {
        var value = values[Number(n) - 1];
        return value ? value : whole;
      });
      header.hidden = !template.preview.header;
      var media = {"[image]": "[the post's photo]", "[video]": "[the post's video]"};
      header.textContent = media[template.preview.header] || template.preview.header || "";
      footer.hidden = !template.preview.footer;
      footer.textContent = template.preview.footer || "";
    }

    function showReach() {
      // A template's category decides who it reaches (Meta: no marketing to +1 numbers); free-form, the window.
      var template = chosen();
      var kind = template ? String(template.category).toLowerCase() : "free_form";
      var words = reach[audience.value] || {};
      reached.textContent = words[kind] || words.utility || "";
    }

    select.addEventListener("change", rebuild);
    select.addEventListener("change", showReach);
    audience.addEventListener("change", showReach);
    body.addEventListener("input", render);
    // The pane's text follows the main text (compose.js) until it is edited: redrawn on either.
    [text, link, document.getElementById("text")].forEach(function (el) {
      if (el) el.addEventListener("input", render);
    });
    render();
  }
})();
