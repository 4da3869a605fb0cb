/* The compose page: each channel's version (its pane: data-channel, data-network,
 * data-label) follows the main text until it is edited; counters and warnings use
 * the limits the server rendered into the page (networks.LIMITS), counted the way
 * the server counts them, each pane against its network's. */
(function () {
  "use strict";
  var form = document.getElementById("compose");
  if (!form) return;
  var LIMITS = JSON.parse(document.getElementById("network-limits").textContent);
  var text = form.elements.text, image = form.elements.image_url, link = form.elements.link;
  var boxes = Array.prototype.slice.call(form.querySelectorAll('input[name="channels"]'));
  var WORD = /[\p{L}\p{N}_]/u;

  function length(s) { return Array.from(s).length; }  // code points, as Python's len()

  /* Mirrors socialpub.composing.adapt_text. */
  function adapt(network, body, url) {
    return url && network !== "facebook" && body.indexOf(url) === -1 ? body + "\n\n" + url : body;
  }

  /* Mirrors socialpub.networks.base.count_tokens. */
  function countTokens(s, sigil) {
    var chars = Array.from(s), n = 0;
    for (var i = 0; i < chars.length; i++) {
      if (chars[i] === sigil && i + 1 < chars.length && WORD.test(chars[i + 1]) &&
          (i === 0 || !WORD.test(chars[i - 1]))) n++;
    }
    return n;
  }

  function fmt(n) { return n.toLocaleString("en"); }
  function linkValue() { return link.value.trim(); }
  /* How each version may look on its network: the account, the text cut where the
     network cuts it in a feed (about 480 characters on Facebook, 210 on LinkedIn,
     125 on Instagram; WhatsApp shows all), the photos as it crops them, and
     Facebook's link card. An approximation, to catch a cut word or a lost link. */
  var CUT = {facebook: [480, "… See more"], linkedin: [210, "…see more"], instagram: [125, "… more"]};
  function drawPreview(pane, sent) {
    var network = pane.network, box = pane.el.querySelector("[data-preview]");
    if (!box) return;
    var account = boxes.filter(function (b) { return b.value === pane.channel; })[0];
    var name = account ? account.dataset.name : network, avatar = box.querySelector(".preview-avatar");
    box.querySelector(".preview-name").textContent = name;
    avatar.style.backgroundImage = account && account.dataset.picture ? "url(" + JSON.stringify(account.dataset.picture) + ")" : "";
    avatar.textContent = account && account.dataset.picture ? "" : name.charAt(0).toUpperCase();
    var shown = sent, cut = CUT[network];
    var textEl = box.querySelector(".preview-text");
    textEl.textContent = "";
    if (network === "instagram") {
      var handle = document.createElement("strong"); handle.textContent = name + " ";
      textEl.appendChild(handle);
    }
    if (cut && Array.from(sent).length > cut[0]) {
      shown = Array.from(sent).slice(0, cut[0]).join("").replace(/\s+\S*$/, "");
      textEl.appendChild(document.createTextNode(shown));
      var more = document.createElement("span"); more.className = "preview-more"; more.textContent = cut[1];
      textEl.appendChild(more);
    } else {
      textEl.appendChild(document.createTextNode(shown));
    }
    var media = box.querySelector(".preview-media");
    media.textContent = "";
    var clip = video();
    if (clip) {
      drawVideoPreview(pane, media, clip);
      textEl.hidden = network === "instagram" && pane.kind && pane.kind.value === "story";  // a Story has no caption
      box.querySelector(".preview-card").hidden = true;
      return;
    }
    textEl.hidden = false;
    var thumbs = Array.prototype.map.call(document.querySelectorAll(PHOTOS + " img"), function (i) { return i.src; });
    if (!thumbs.length && image.value.trim() && !imageBroken) thumbs = [image.value.trim()];
    if (network === "whatsapp") thumbs = thumbs.slice(0, 1);
    if (network === "instagram") thumbs = thumbs.slice(0, 1);  // a carousel shows one at a time
    media.className = "preview-media count-" + Math.min(thumbs.length, 4);
    thumbs.slice(0, 4).forEach(function (src) {
      var img = document.createElement("img"); img.src = src; img.alt = ""; media.appendChild(img);
    });
    var shots = photos().length;
    if (network === "instagram" && shots > 1) {
      var dots = document.createElement("span"); dots.className = "preview-dots";
      dots.textContent = "● " + "○ ".repeat(Math.min(shots, 10) - 1);
      media.appendChild(dots);
    }
    var card = box.querySelector(".preview-card"), url = link.value.trim();
    card.hidden = network !== "facebook" || !url || thumbs.length > 0;
    if (!card.hidden) {
      try { box.querySelector(".preview-domain").textContent = new URL(url).hostname.toUpperCase(); } catch (e) { card.hidden = true; }
      box.querySelector(".preview-url").textContent = url;
    }
  }

  /* Reels and Stories fill an upright 9:16 frame, the poster as their cover; a feed video or a
     message a 16:9 one, the poster inside it. */
  function drawVideoPreview(pane, media, clip) {
    var kind = pane.kind ? pane.kind.value : "";
    var tall = kind === "reel" || kind === "story";
    media.className = "preview-media count-1";
    var frame = document.createElement("div");
    frame.className = "preview-video " + (tall ? "preview-tall" : "preview-wide");
    frame.dataset.kind = kind;
    var poster = document.createElement("img");
    poster.src = clip.poster; poster.alt = "";
    var play = document.createElement("span");
    play.className = "preview-play"; play.setAttribute("aria-hidden", "true"); play.textContent = "▶";
    var tag = document.createElement("span");
    tag.className = "preview-kind"; tag.textContent = KIND_NAMES[kind] || "Video";
    frame.appendChild(poster); frame.appendChild(play); frame.appendChild(tag);
    media.appendChild(frame);
  }
  var KIND_NAMES = {reel: "Reel", story: "Story", video: "Video", message: "Video message"};

  /* The photos uploaded for this post (media.js keeps the list), each with its size. */
  var PHOTOS = '#media-list li[data-id]:not([data-kind="video"])';
  function photos() {
    return Array.prototype.map.call(document.querySelectorAll(PHOTOS), function (li) {
      return {width: +li.dataset.width, height: +li.dataset.height};
    });
  }
  /* The post's video (its tile, its poster, its pre-flight per network and kind), or null. */
  function videos() { return document.querySelectorAll('#media-list li[data-id][data-kind="video"]'); }
  function video() {
    var tile = videos()[0];
    if (!tile) return null;
    return {tile: tile, poster: tile.querySelector("img").src, verdicts: JSON.parse(tile.dataset.preflight || "[]")};
  }
  /* A photo, the image's address or a video: what Instagram needs, and what makes the text a caption. */
  function hasImage() {
    return image.value.trim() !== "" || document.querySelector("#media-list li[data-id]") !== null;
  }

  /* How the video fares as ``kind`` on ``network``: {label, ok, problems}. */
  function verdict(clip, network, kind) {
    var rules = (LIMITS[network].videos || []).filter(function (r) { return r.kind === kind; })[0];
    var found = clip.verdicts.filter(function (v) { return v.network === network && v.kind === kind; })[0];
    return found || {kind: kind, label: rules ? rules.label : kind, ok: true, problems: []};
  }

  /* Rewrite a live region only when what it says changes, so a screen reader hears it once. */
  function say(el, key, draw) {
    if (el.dataset.said === key) return;
    el.dataset.said = key;
    el.textContent = "";
    draw(el);
  }

  /* A pane's "Post it as" select: shown and sent only with a video; each kind the video does not fit
     marked, and for the chosen one the reasons and a button for each kind it fits. */
  function drawKind(pane, clip) {
    if (!pane.kind) return null;
    var box = pane.kind.closest("[data-video-kind]"), select = pane.kind, network = pane.network;
    box.hidden = !clip; select.disabled = !clip;
    if (!clip) return null;
    Array.prototype.forEach.call(select.options, function (option) {
      option.textContent = option.dataset.label + (verdict(clip, network, option.value).ok ? "" : " (does not fit)");
    });
    var chosen = verdict(clip, network, select.value);
    var fits = Array.prototype.filter.call(select.options, function (o) {
      return o.value !== select.value && verdict(clip, network, o.value).ok;
    });
    var line = box.querySelector(".video-fit");
    line.classList.toggle("not-ok", !chosen.ok);
    say(line, clip.tile.dataset.id + "|" + select.value, function () {
      if (chosen.ok) { line.textContent = "✓ The video fits " + chosen.label + "."; return; }
      line.appendChild(document.createTextNode("✗ Not as " + chosen.label + ": " + chosen.problems.join("; ") + ". "));
      fits.forEach(function (option) {
        var offer = document.createElement("button");
        offer.type = "button"; offer.className = "btn btn-small"; offer.dataset.kind = option.value;
        offer.textContent = "Post it as " + option.dataset.label;
        offer.addEventListener("click", function () {
          select.value = option.value;
          select.dispatchEvent(new Event("change", {bubbles: true}));
          select.focus();
        });
        line.appendChild(offer);
      });
    });
    return chosen;
  }

  /* The video tile's lines: each ticked channel, and how it takes the video as chosen. */
  function drawChecks(clip) {
    var lines = clip.tile.querySelector(".video-checks");
    if (!lines) return;
    var shown = panes.filter(ticked).map(function (pane) {
      return {pane: pane, verdict: verdict(clip, pane.network, pane.kind ? pane.kind.value : "")};
    });
    var key = JSON.stringify(shown.map(function (s) { return [s.pane.channel, s.verdict.kind, s.verdict.ok]; }));
    say(lines, clip.tile.dataset.id + key, function () {
      shown.forEach(function (s) {
        var li = document.createElement("li"), mark = document.createElement("span"), v = s.verdict;
        li.className = v.ok ? "ok" : "not-ok"; li.dataset.channel = s.pane.channel;
        mark.setAttribute("aria-hidden", "true"); mark.textContent = v.ok ? "✓" : "✗";
        li.appendChild(mark);
        li.appendChild(document.createTextNode(" " + s.pane.label + ": " + (v.ok ? "fits " + v.label
          : "not as " + v.label + " — " + v.problems.join("; "))));
        lines.appendChild(li);
      });
    });
  }

  /* As the server decides (web/forms.py): a pane is the channel's own version
   * unless it is empty, the main text, or the main text adapted for its network. */
  function isOverride(network, value) {
    return value.trim() !== "" && value !== text.value && value !== adapt(network, text.value, linkValue());
  }

  var panes = Array.prototype.map.call(form.querySelectorAll(".pane[data-channel]"), function (el) {
    var network = el.dataset.network, area = el.querySelector("textarea");
    var pane = {el: el, area: area, network: network, channel: el.dataset.channel, label: el.dataset.label,
                overridden: isOverride(network, area.value), kind: el.querySelector("[data-video-kind] select")};
    if (pane.kind) pane.kind.addEventListener("change", function () { update(); });
    area.addEventListener("input", function () {
      pane.overridden = isOverride(network, area.value);
      update();
    });
    el.querySelector(".reset").addEventListener("click", function () {
      area.value = adapt(network, text.value, linkValue());
      area.dispatchEvent(new Event("input", {bubbles: true}));  // recounted, and its WhatsApp preview redrawn
      area.focus();
    });
    return pane;
  });

  /* A server error is about what was submitted: once its field (or the main
   * text, for the panes) is edited, it goes and the live warnings take over. */
  function clearServerErrors(field) {
    var error = document.getElementById(field.id + "-error");
    if (error) error.remove();
    field.removeAttribute("aria-invalid");
    var pane = field.closest(".pane");
    if (pane) pane.classList.remove("pane-error");
  }
  form.addEventListener("input", function (event) {
    var field = event.target;
    if (!field.id) return;
    clearServerErrors(field);
    if (field === text || field === link) {
      panes.forEach(function (pane) { clearServerErrors(pane.area); });
    }
  }, true);

  function hasServerError(pane) { return !!pane.el.querySelector(".field-error"); }

  function ticked(pane) {
    return boxes.some(function (b) { return b.checked && b.value === pane.channel; });
  }

  function setCounter(el, kind, value, limit) {
    var counter = el.querySelector('.counter[data-kind="' + kind + '"]');
    if (!counter) return;
    counter.querySelector(".value").textContent = fmt(value);
    counter.classList.toggle("over", value > limit);
    counter.classList.toggle("near", value <= limit && value >= limit * 0.9);
  }

  /* Recount everything and list what a network would refuse. */
  function update() {
    var url = linkValue(), warnings = [];
    document.getElementById("text-count").textContent = fmt(length(text.value));
    if (!boxes.some(function (b) { return b.checked; }) && boxes.length) {
      warnings.push("Tick at least one channel to publish to.");
    }
    var clip = video();
    if (clip && photos().length) warnings.push("A post carries photos or one video, not both: remove one of them.");
    if (videos().length > 1) warnings.push("A post carries one video: remove all but one.");
    panes.forEach(function (pane) {
      var network = pane.network, lim = LIMITS[network], own = [];
      if (!pane.overridden) pane.area.value = adapt(network, text.value, url);
      var body = pane.overridden ? pane.area.value : text.value;
      var sent = adapt(network, body, url);
      var caption = hasImage() && lim.max_caption;
      var limit = caption ? lim.max_caption : lim.max_text;
      var chars = length(sent);
      var counter = pane.el.querySelector('.counter[data-kind="chars"]');
      counter.querySelector(".limit").textContent = fmt(limit);
      counter.querySelector(".unit").textContent = caption ? "caption" : "characters";
      setCounter(pane.el, "chars", chars, limit);
      if (chars > limit) own.push((caption ? "Caption" : "Text") + " is " + fmt(chars) + " characters; the limit is " + fmt(limit) + ".");
      if (lim.max_hashtags !== null) {
        var tags = countTokens(sent, "#");
        setCounter(pane.el, "hashtags", tags, lim.max_hashtags);
        if (tags > lim.max_hashtags) own.push(tags + " hashtags; the limit is " + lim.max_hashtags + ".");
      }
      if (lim.max_mentions !== null) {
        var mentions = countTokens(sent, "@");
        setCounter(pane.el, "mentions", mentions, lim.max_mentions);
        if (mentions > lim.max_mentions) own.push(mentions + " mentions; the limit is " + lim.max_mentions + ".");
      }
      if (!lim.links_clickable && /https?:\/\//i.test(sent)) own.push("Links in " + lim.label + " captions cannot be clicked: say where to find it instead (a “link in bio”).");
      if (imageBroken && image.value.trim()) own.push("The image address does not load: " + lim.label + " will not be able to fetch it either. Fix it, or upload the photo.");
      if (lim.image_required && !hasImage()) own.push("Needs an image: add photos or an image URL, or untick " + pane.label + ".");
      var shots = photos();
      if (shots.length > lim.max_photos) own.push(shots.length + " photos; it takes " + lim.max_photos + " per post.");
      if (lim.sends_photos && shots.length > lim.sends_photos) own.push("Only the first photo is sent: a message carries one image.");
      if (lim.aspect_range) shots.forEach(function (shot, i) {
        var ratio = shot.width / shot.height;
        if (ratio < lim.aspect_range[0] || ratio > lim.aspect_range[1]) {
          own.push("Photo " + (i + 1) + " is " + shot.width + " × " + shot.height + "; it takes 4:5 to 1.91:1.");
        }
      });
      var fit = drawKind(pane, clip);
      drawPreview(pane, sent);
      pane.el.hidden = !ticked(pane);
      if (fit && !fit.ok && !pane.el.hidden) {
        warnings.push(pane.label + ": the video does not fit " + fit.label + ": choose another kind of post.");
      }
      pane.el.querySelector(".edited").hidden = !pane.overridden;
      pane.el.querySelector(".reset").hidden = !pane.overridden;
      pane.el.classList.toggle("pane-warn", own.length > 0);
      var list = pane.el.querySelector(".pane-warnings");
      list.textContent = "";
      if (!hasServerError(pane)) own.forEach(function (message) {
        var li = document.createElement("li");
        li.textContent = message;
        list.appendChild(li);
      });
      if (!pane.el.hidden) own.forEach(function (m) { warnings.push(pane.label + ": " + m); });
    });
    if (clip) drawChecks(clip);
    var box = document.getElementById("warnings"), ul = box.querySelector("ul");
    ul.textContent = "";
    warnings.forEach(function (message) {
      var li = document.createElement("li");
      li.textContent = message;
      ul.appendChild(li);
    });
    box.classList.toggle("has-warnings", warnings.length > 0);
  }

  /* The image's thumbnail, once the address has stopped changing. */
  var preview = document.getElementById("image-preview"),
      img = document.getElementById("image-preview-img"),
      note = document.getElementById("image-preview-note"), timer = null;
  var imageBroken = false;
  img.addEventListener("load", function () {
    note.textContent = ""; preview.classList.remove("broken"); imageBroken = false; update();
  });
  img.addEventListener("error", function () {
    if (!img.getAttribute("src")) return;
    preview.classList.add("broken");
    note.textContent = "This address does not load as an image here. Is it public?";
    imageBroken = true; update();  // a warning every network's pane shows, not a grey hint alone
  });
  function showPreview() {
    var url = image.value.trim();
    if (!/^https?:\/\/\S+$/i.test(url)) { preview.hidden = true; img.removeAttribute("src"); return; }
    preview.hidden = false;
    if (img.getAttribute("src") !== url) { note.textContent = "Loading…"; img.src = url; }
  }

  text.addEventListener("input", update);
  link.addEventListener("input", update);
  image.addEventListener("input", function () {
    update();
    clearTimeout(timer);
    timer = setTimeout(showPreview, 400);
  });
  image.addEventListener("change", showPreview);
  document.addEventListener("media-change", update);
  boxes.forEach(function (b) { b.addEventListener("change", update); });

  /* One submit at a time: the buttons are disabled while the request runs
     (after this tick, so the clicked button's name and value still go with
     the form). The form's one-time key makes a second submit harmless anyway. */
  var buttons = form.querySelectorAll(".actions button[type=submit]");
  form.addEventListener("submit", function (event) {
    var clicked = event.submitter;
    setTimeout(function () {
      buttons.forEach(function (b) { b.disabled = true; });
      form.setAttribute("aria-busy", "true");
      if (clicked) { clicked.dataset.label = clicked.textContent; clicked.textContent = "Sending…"; }
    }, 0);
  });
  /* Back to this page from the browser's history: usable again. */
  window.addEventListener("pageshow", function () {
    buttons.forEach(function (b) {
      b.disabled = false;
      if (b.dataset.label) { b.textContent = b.dataset.label; delete b.dataset.label; }
    });
    form.removeAttribute("aria-busy");
  });
  update();
  showPreview();
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
})();
