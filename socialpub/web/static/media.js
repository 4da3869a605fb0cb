/* The compose form's photos and video: each file dropped or chosen is uploaded at
   once, with its progress, then shown as a tile whose hidden input carries its id
   with the form, in the list's order. Move and Remove are buttons, so the keyboard
   does everything the mouse does. Without this script the files go with the form.

   A photo is sent whole to the page's upload address. A video (by its type or its
   name; the server judges it by its content anyway), or any file larger than a
   photo may be, goes in parts by the tus protocol (web/resumable.py): POST begins
   it, each PATCH appends a part at the offset the server holds, and when a part
   fails (the connection dropped) HEAD says how far the server got and the upload
   goes on from there — a few times, after a pause; then it says where it stopped
   and offers Resume. The part that completes it names the media it became. */
(function () {
  "use strict";
  var list = document.getElementById("media-list");
  var input = document.getElementById("photos");
  var drop = document.getElementById("media-drop");
  if (!list || !input || !drop) return;
  var csrf = document.querySelector("input[name=csrf_token]").value;
  var VIDEO_NAME = /\.(mp4|m4v|mov|qt|3gp|webm|mkv|avi)$/i;
  var TUS = "1.0.0";

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

  /* compose.js rechecks each network (a carousel's size, the aspect ratios, the video's kinds). */
  function changed() { document.dispatchEvent(new CustomEvent("media-change")); }

  /* The list item of a file on its way: its progress bar and a line a screen reader hears. */
  function pending(file) {
    var item = document.createElement("li");
    item.className = "uploading";
    var progress = document.createElement("progress");
    progress.max = 100; progress.value = 0;
    progress.setAttribute("aria-label", "Uploading " + file.name);
    var status = document.createElement("span");
    status.className = "upload-status"; status.setAttribute("role", "status");
    status.textContent = file.name;
    item.appendChild(progress); item.appendChild(status);
    list.appendChild(item);
    return item;
  }

  function refusal(item, name, why) {
    item.textContent = ""; item.className = "";
    var error = document.createElement("span");
    error.className = "error"; error.setAttribute("role", "alert");
    error.textContent = name + ": " + why;
    item.appendChild(error); item.appendChild(button("Dismiss", ["data-remove", ""], "Dismiss"));
  }

  /* The API's refusal in words, or null for an answer that is not one (a proxy's page, a cut connection). */
  function refusedWith(request) {
    try {
      var body = JSON.parse(request.responseText);
      return body && body.error ? body.error.message.replace(/^(file|Upload-Length|body): /, "") : null;
    } catch (ignored) {
      return null;
    }
  }

  function sendPhoto(file) {
    var item = pending(file), progress = item.querySelector("progress");
    var request = new XMLHttpRequest();
    request.open("POST", list.dataset.uploadUrl);
    request.setRequestHeader("X-CSRFToken", csrf);
    request.setRequestHeader("Accept", "application/json");
    request.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) progress.value = Math.round(100 * e.loaded / e.total);
    });
    request.addEventListener("load", function () {
      if (request.status === 200 || request.status === 201) {
        var body = JSON.parse(request.responseText);
        item.textContent = ""; item.className = "";
        var img = document.createElement("img");
        img.src = body.thumbnail_url; img.alt = file.name;
        var hidden = document.createElement("input");
        hidden.type = "hidden"; hidden.name = "media_ids"; hidden.value = body.id;
        item.dataset.id = body.id; item.dataset.width = body.width; item.dataset.height = body.height;
        item.appendChild(img); item.appendChild(hidden); item.appendChild(controls(file.name));
        changed();
      } else {
        refusal(item, file.name, refusedWith(request) || "the upload failed (" + request.status + ")");
      }
    });
    request.addEventListener("error", function () {
      refusal(item, file.name, "the upload did not reach the server; try again.");
    });
    var data = new FormData();
    data.append("file", file);
    request.send(data);
  }

  /* "0:04", "5:00", "1:02:03", as compose.clock says it. */
  function clock(seconds) {
    var s = Math.round(seconds), h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), r = s % 60;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return h ? h + ":" + pad(m) + ":" + pad(r) : m + ":" + pad(r);
  }

  /* The video's tile, as templates/web/compose_video_tile.html draws it; compose.js fills its checks. */
  function videoTile(item, media, verdicts, name) {
    item.textContent = ""; item.className = "video-tile";
    item.dataset.id = media.id; item.dataset.kind = "video";
    item.dataset.width = media.width; item.dataset.height = media.height;
    item.dataset.duration = media.video.duration_s; item.dataset.preflight = JSON.stringify(verdicts);
    var poster = document.createElement("img");
    poster.className = "poster"; poster.src = media.thumbnail_url; poster.alt = name;
    var about = document.createElement("div");
    about.className = "video-about";
    var what = document.createElement("p"), strong = document.createElement("strong");
    var size = document.createElement("span");
    what.className = "video-what"; strong.textContent = "Video, " + clock(media.video.duration_s);
    size.className = "muted"; size.textContent = media.width + " × " + media.height;
    what.appendChild(strong); what.appendChild(document.createTextNode(" ")); what.appendChild(size);
    var checks = document.createElement("ul");
    checks.className = "video-checks"; checks.setAttribute("aria-live", "polite");
    checks.setAttribute("aria-label", "How each channel takes the video");
    about.appendChild(what); about.appendChild(checks);
    var hidden = document.createElement("input");
    hidden.type = "hidden"; hidden.name = "media_ids"; hidden.value = media.id;
    var span = document.createElement("span");
    span.appendChild(button("Remove " + name, ["data-remove", ""], "Remove"));
    item.appendChild(poster); item.appendChild(about); item.appendChild(hidden); item.appendChild(span);
  }

  /* Base64 of UTF-8 text, for Upload-Metadata. */
  function base64(text) {
    return btoa(Array.prototype.map.call(new TextEncoder().encode(text), function (b) {
      return String.fromCharCode(b);
    }).join(""));
  }

  /* A file sent in parts (the tus protocol), resumed from the server's offset when a part fails. */
  function sendInParts(file) {
    var item = pending(file), progress = item.querySelector("progress"), status = item.querySelector(".upload-status");
    var cancel = button("Cancel the upload of " + file.name, ["data-remove", ""], "Cancel");
    var resume = button("Resume the upload of " + file.name, ["data-resume", ""], "Resume");
    resume.className = "btn btn-small"; resume.hidden = true;
    item.appendChild(resume); item.appendChild(cancel);
    var at = {location: null, offset: 0, tries: 0, request: null, timer: null, said: -1, over: false};
    // The pauses before each try again, in ms (the list's data-retry-pauses: the browser tests shorten them).
    var pauses = (list.dataset.retryPauses || "1000 3000 6000").split(" ").map(Number);

    function percent(sent) { return Math.floor(100 * sent / file.size); }
    function shown(sent) {
      var p = percent(sent);
      progress.value = p;
      if (p !== at.said && (p % 5 === 0 || p === 100)) {  // heard every 5 %, not every byte
        at.said = p;
        status.textContent = "Uploading " + file.name + ": " + p + " %";
      }
    }

    function call(method, url, headers, body, done, onProgress) {
      var request = at.request = new XMLHttpRequest();
      request.open(method, url);
      request.setRequestHeader("Tus-Resumable", TUS);
      request.setRequestHeader("X-CSRFToken", csrf);
      request.setRequestHeader("Accept", "application/json");
      Object.keys(headers).forEach(function (name) { request.setRequestHeader(name, headers[name]); });
      if (onProgress) request.upload.addEventListener("progress", function (e) { onProgress(e.loaded); });
      request.addEventListener("loadend", function () {
        if (!at.over && at.request === request) done(request);
      });
      request.send(body);
    }

    /* Whether to ask again: no answer, the wrong offset, a busy or failing server, or not our refusal. */
    function passing(request) {
      var s = request.status;
      return s === 0 || s === 408 || s === 409 || s === 429 || s >= 500 || refusedWith(request) === null;
    }

    function begin() {
      at.offset = 0;
      call("POST", list.dataset.partsUrl, {
        "Upload-Length": String(file.size),
        "Upload-Metadata": "filename " + base64(file.name) + (file.type ? ",filetype " + base64(file.type) : "")
      }, null, function (request) {
        if (request.status === 201) { at.location = request.getResponseHeader("Location"); sendPart(); }
        else if (passing(request)) again(begin);
        else give(refusedWith(request));
      });
    }

    function sendPart() {
      var size = +list.dataset.partBytes || 8 * 1024 * 1024, from = at.offset;
      call("PATCH", at.location, {"Upload-Offset": String(from), "Content-Type": "application/offset+octet-stream"},
           file.slice(from, Math.min(from + size, file.size)), function (request) {
        if (request.status === 204) {
          at.tries = 0;
          at.offset = +request.getResponseHeader("Upload-Offset");
          shown(at.offset);
          var kept = request.getResponseHeader("Content-Location");
          if (kept) done(kept);
          else if (at.offset < file.size) sendPart();
          else again(ask);
        } else if (passing(request)) {
          again(ask);
        } else {
          give(refusedWith(request));
        }
      }, function (loaded) { shown(from + loaded); });
    }

    /* How far the server got (HEAD), then on from there — or the media it became, when the last part's answer
     was lost; an upload it no longer has begins again. */
    function ask() {
      call("HEAD", at.location, {}, null, function (request) {
        if (request.status === 200) {
          at.offset = +request.getResponseHeader("Upload-Offset");
          shown(at.offset);
          var kept = request.getResponseHeader("Content-Location");  // finished: the last answer was lost
          if (kept) done(kept);
          else sendPart();
        } else if (request.status === 404) {
          begin();
        } else {
          again(ask);
        }
      });
    }

    function again(step) {
      if (at.tries >= pauses.length) {
        status.textContent = "The upload stopped at " + percent(at.offset) + " %: check your connection, then Resume.";
        item.classList.add("stopped");
        resume.hidden = false;
        return;
      }
      var pause = pauses[at.tries++];
      status.textContent = "The connection dropped at " + percent(at.offset) + " %; going on in " +
        Math.round(pause / 1000) + " s…";
      at.timer = setTimeout(step, pause);
    }

    /* Kept in the library: its facts and pre-flight, then its tile. */
    function done(location) {
      delete item.cancelUpload;  // nothing to cancel any more: Remove takes the tile out of the post
      status.textContent = "Uploaded " + file.name + ": 100 %. Checking it for each network…";
      fetchJSON(location, function (media) {
        fetchJSON(list.dataset.preflightUrl.replace("/0/", "/" + media.id + "/"), function (preflight) {
          videoTile(item, media, preflight.items, file.name);
          changed();
        });
      });
    }

    function fetchJSON(url, then) {
      fetch(url, {headers: {Accept: "application/json"}, credentials: "same-origin"}).then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      }).then(then, function () {
        give("it was uploaded, but its details did not load: reload the page to see it in the media library");
      });
    }

    function give(why) {
      at.over = true;
      refusal(item, file.name, why);
    }

    item.cancelUpload = function () {
      at.over = true;
      clearTimeout(at.timer);
      if (at.request) at.request.abort();
      if (at.location) call("DELETE", at.location, {}, null, function () {});  // its parts are removed
    };
    resume.addEventListener("click", function () {
      resume.hidden = true; item.classList.remove("stopped"); at.tries = 0;
      status.textContent = "Resuming " + file.name + "…";
      if (at.location) ask(); else begin();
    });
    begin();
  }

  function isVideo(file) {
    return /^video\//.test(file.type) || VIDEO_NAME.test(file.name) || file.size > +list.dataset.photoMaxBytes;
  }

  function take(files) {
    Array.prototype.forEach.call(files, function (file) {
      if (isVideo(file)) sendInParts(file); else sendPhoto(file);
    });
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
    if (!target || target.hasAttribute("data-resume")) return;
    var item = target.closest("li");
    if (target.hasAttribute("data-remove")) {
      if (item.cancelUpload) item.cancelUpload();
      item.remove();
      changed();
    } else if (target.dataset.move === "-1" && item.previousElementSibling) {
      list.insertBefore(item, item.previousElementSibling); target.focus();
    } else if (target.dataset.move === "1" && item.nextElementSibling) {
      list.insertBefore(item.nextElementSibling, item); target.focus();
    }
  });
})();
