/* The compose form's photos: each file dropped or chosen is uploaded at once
   (with its progress) to the page's upload address, then shown as a thumbnail
   whose hidden input carries its id with the form, in the list's order. Move
   and Remove are buttons, so the keyboard does everything the mouse does.
   Without this script the files go with the form itself. */
(function () {
  "use strict";
  var list = document.getElementById("media-list");
  var input = document.getElementById("photos");
  var drop = document.getElementById("media-drop");
  if (!list || !input || !drop) return;
  var csrf = document.querySelector("input[name=csrf_token]").value;

  function button(label, data, text) {
    var b = document.createElement("button");
    b.type = "button"; b.className = "btn-link"; b.setAttribute("aria-label", label);
    b.setAttribute(data[0], data[1]); b.textContent = text;
    return b;
  }

  function controls(name) {
    var span = document.createElement("span");
    span.appendChild(button("Move " + name + " earlier", ["data-move", "-1"], "←"));
    span.appendChild(button("Move " + name + " later", ["data-move", "1"], "→"));
    span.appendChild(button("Remove " + name, ["data-remove", ""], "Remove"));
    return span;
  }

  function upload(file) {
    var item = document.createElement("li");
    var progress = document.createElement("progress");
    progress.max = 100; progress.value = 0;
    progress.setAttribute("aria-label", "Uploading " + file.name);
    var label = document.createElement("span");
    label.textContent = file.name;
    item.appendChild(progress); item.appendChild(label);
    list.appendChild(item);
    var request = new XMLHttpRequest();
    request.open("POST", list.dataset.uploadUrl);
    request.setRequestHeader("X-CSRFToken", csrf);
    request.setRequestHeader("Accept", "application/json");
    request.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) progress.value = Math.round(100 * e.loaded / e.total);
    });
    request.addEventListener("load", function () {
      var body = null;
      try { body = JSON.parse(request.responseText); } catch (ignored) { /* not JSON: said below */ }
      item.textContent = "";
      if (request.status === 200 || request.status === 201) {
        var img = document.createElement("img");
        img.src = body.thumbnail_url; img.alt = file.name;
        var hidden = document.createElement("input");
        hidden.type = "hidden"; hidden.name = "media_ids"; hidden.value = body.id;
        item.dataset.id = body.id; item.dataset.width = body.width; item.dataset.height = body.height;
        item.appendChild(img); item.appendChild(hidden); item.appendChild(controls(file.name));
        changed();
      } else {
        var error = document.createElement("span");
        error.className = "error"; error.setAttribute("role", "alert");
        var why = body && body.error ? body.error.message.replace(/^file: /, "") : "the upload failed (" + request.status + ")";
        error.textContent = file.name + ": " + why;
        item.appendChild(error); item.appendChild(button("Dismiss", ["data-remove", ""], "Dismiss"));
      }
    });
    request.addEventListener("error", function () {
      item.textContent = file.name + ": the upload did not reach the server; try again.";
      item.appendChild(button("Dismiss", ["data-remove", ""], "Dismiss"));
    });
    var data = new FormData();
    data.append("file", file);
    request.send(data);
  }

  /* compose.js rechecks each network (a carousel's size, the aspect ratios). */
  function changed() { document.dispatchEvent(new CustomEvent("media-change")); }

  function take(files) {
    Array.prototype.forEach.call(files, upload);
    input.value = "";  // uploaded already: not sent again with the form
  }

  input.addEventListener("change", function () { take(input.files); });
  ["dragenter", "dragover"].forEach(function (type) {
    drop.addEventListener(type, function (e) { e.preventDefault(); drop.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (type) {
    drop.addEventListener(type, function () { drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (e) { e.preventDefault(); take(e.dataTransfer.files); });

  list.addEventListener("click", function (e) {
    var target = e.target.closest("button");
    if (!target) return;
    var item = target.closest("li");
    if (target.hasAttribute("data-remove")) {
      item.remove();
      changed();
    } else if (target.dataset.move === "-1" && item.previousElementSibling) {
      list.insertBefore(item, item.previousElementSibling); target.focus();
    } else if (target.dataset.move === "1" && item.nextElementSibling) {
      list.insertBefore(item.nextElementSibling, item); target.focus();
    }
  });
})();
