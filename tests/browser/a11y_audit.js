// An accessibility audit run inside a page (Playwright's evaluate): the checks a screen reader, a
// keyboard and a low-vision reader depend on, computed from the DOM and the computed styles.
// Returns a list of problems, each "rule: where — what"; an empty list is a pass.
() => {
  "use strict";
  var problems = [];
  function where(el) {
    var s = el.tagName.toLowerCase();
    if (el.id) s += "#" + el.id;
    else if (el.className && typeof el.className === "string") s += "." + el.className.trim().split(/\s+/).join(".");
    var text = (el.textContent || "").trim().replace(/\s+/g, " ").slice(0, 40);
    return s + (text ? " \"" + text + "\"" : "");
  }
  function report(rule, el, what) { problems.push(rule + ": " + (el ? where(el) : "page") + " — " + what); }

  function rendered(el) {
    if (!el.isConnected) return false;
    for (var e = el; e && e.nodeType === 1; e = e.parentElement) {
      if (e.hidden) return false;
      var cs = getComputedStyle(e);
      if (cs.display === "none" || cs.visibility === "hidden") return false;
    }
    return true;
  }
  // In the accessibility tree: rendered and not under aria-hidden. (Visually hidden text, e.g. the
  // .sr class, is in the tree on purpose.)
  function exposed(el) {
    if (!rendered(el)) return false;
    return !el.closest("[aria-hidden=true]");
  }
  function textOf(node) {
    // The name a subtree gives: its text, alt of images, without aria-hidden parts.
    if (node.nodeType === 3) return node.nodeValue;
    if (node.nodeType !== 1) return "";
    if (node.getAttribute("aria-hidden") === "true") return "";
    var cs = getComputedStyle(node);
    if (cs.display === "none" || cs.visibility === "hidden") return "";
    if (node.tagName === "IMG") return node.getAttribute("alt") || "";
    if (node.getAttribute("aria-label")) return node.getAttribute("aria-label");
    var out = "";
    node.childNodes.forEach(function (c) { out += " " + textOf(c); });
    return out;
  }
  function byIds(list) {
    return (list || "").split(/\s+/).filter(Boolean).map(function (id) {
      var t = document.getElementById(id);
      return t ? textOf(t) : "";
    }).join(" ");
  }
  function labelText(el) {
    var out = "";
    if (el.labels) el.labels.forEach(function (l) { out += " " + textOf(l); });
    return out;
  }
  // The accessible name, simplified from the accname algorithm: enough for this site's markup.
  function accName(el) {
    var name = byIds(el.getAttribute("aria-labelledby"));
    if (!name.trim()) name = el.getAttribute("aria-label") || "";
    if (!name.trim() && /^(INPUT|SELECT|TEXTAREA|METER|PROGRESS)$/.test(el.tagName)) name = labelText(el);
    if (!name.trim() && el.tagName === "INPUT" && /^(submit|reset|button)$/.test(el.type)) name = el.value;
    if (!name.trim() && !/^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName)) name = textOf(el);
    if (!name.trim()) name = el.getAttribute("title") || "";
    return name.replace(/\s+/g, " ").trim();
  }

  // 1. Document: language, title, landmarks, one h1, heading order.
  if (!document.documentElement.getAttribute("lang")) report("lang", null, "<html> has no lang");
  if (!document.title.trim()) report("title", null, "the page has no <title>");
  var mains = Array.prototype.filter.call(document.querySelectorAll("main, [role=main]"), exposed);
  if (mains.length !== 1) report("landmarks", null, mains.length + " main landmarks (want 1)");
  if (!document.querySelector("body > header, [role=banner]")) report("landmarks", null, "no banner (page header)");
  if (!document.querySelector("body > footer, [role=contentinfo]")) report("landmarks", null, "no contentinfo (page footer)");
  if (!document.querySelector("nav, [role=navigation]")) report("landmarks", null, "no navigation landmark");
  var skip = document.querySelector("body a[href^='#']");
  var target = skip && document.getElementById(skip.getAttribute("href").slice(1));
  if (!target) report("skip-link", skip, "no working skip link first in the page");
  // Chromium moves only its Tab starting point to a target that cannot take the focus: the focus
  // itself stays behind and a screen reader says nothing.
  else if (target.tabIndex < 0 && !target.hasAttribute("tabindex")) report("skip-link", target, "the skip link's target cannot take the focus (tabindex=-1)");
  var headings = Array.prototype.filter.call(document.querySelectorAll("h1, h2, h3, h4, h5, h6"), exposed);
  var h1s = headings.filter(function (h) { return h.tagName === "H1"; });
  if (h1s.length !== 1) report("h1", null, h1s.length + " h1 elements (want 1)");
  var last = 0;
  headings.forEach(function (h) {
    var level = +h.tagName[1];
    if (!textOf(h).trim()) report("heading", h, "empty heading");
    if (last && level > last + 1) report("heading-order", h, "h" + level + " after h" + last);
    last = level;
  });
  // Landmarks of one kind that several of are on the page need names to be told apart.
  ["nav", "aside"].forEach(function (tag) {
    var all = Array.prototype.filter.call(document.querySelectorAll(tag), exposed);
    if (all.length < 2) return;
    all.forEach(function (el) { if (!accName(el) || el.getAttribute("aria-label") === null && !el.getAttribute("aria-labelledby")) report("landmark-name", el, "one of several <" + tag + "> without a name"); });
  });

  // 2. Ids are unique; aria references point somewhere.
  var seen = {};
  document.querySelectorAll("[id]").forEach(function (el) {
    if (seen[el.id]) report("duplicate-id", el, "id \"" + el.id + "\" used twice");
    seen[el.id] = true;
  });
  document.querySelectorAll("[aria-describedby], [aria-labelledby], [aria-controls]").forEach(function (el) {
    ["aria-describedby", "aria-labelledby", "aria-controls"].forEach(function (attr) {
      (el.getAttribute(attr) || "").split(/\s+/).filter(Boolean).forEach(function (id) {
        if (!document.getElementById(id)) report("aria-ref", el, attr + " points to missing id \"" + id + "\"");
      });
    });
  });

  // 3. Controls: a name each; form fields a label (a placeholder or title is not one); invalid fields
  // say so and point to their message.
  var controls = document.querySelectorAll("a[href], button, input, select, textarea, summary, [tabindex], [role=button], [role=link], [role=tab]");
  controls.forEach(function (el) {
    if (el.type === "hidden" || !exposed(el)) return;
    if (!accName(el)) report("name", el, "a control without an accessible name");
    if (/^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName) && !/^(submit|reset|button|image)$/.test(el.type)) {
      if (!labelText(el).trim() && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby")) report("label", el, "a form field without a label");
    }
    var ti = el.getAttribute("tabindex");
    if (ti && +ti > 0) report("tabindex", el, "positive tabindex breaks the reading order");
  });
  document.querySelectorAll("[aria-invalid=true]").forEach(function (el) {
    if (!el.getAttribute("aria-describedby")) report("error-link", el, "aria-invalid without aria-describedby to its message");
  });
  // WCAG 3.3.1: the title, read first, says that the page shows errors.
  var shown = Array.prototype.filter.call(document.querySelectorAll(".errorlist, .error, .msg.error"), function (el) {
    return exposed(el) && el.textContent.trim();
  });
  if (shown.length && !/^Error: /.test(document.title)) report("error-title", shown[0], "errors shown but the title does not start with 'Error: '");
  document.querySelectorAll(".errorlist, .error").forEach(function (el) {
    if (!exposed(el) || !el.textContent.trim()) return;
    // Tied when the message, or a wrapper of it inside its field, is named by aria-describedby.
    var tied = false;
    for (var e = el; e && !tied && e.nodeType === 1; e = e.parentElement) {
      if (e.id && document.querySelector("[aria-describedby~='" + CSS.escape(e.id) + "']")) tied = true;
      if (e.classList.contains("field")) break;
    }
    if (!tied) {
      // A page-level error is fine as an alert; a field's error must be tied to its field.
      var field = el.closest(".field");
      if (field && field.querySelector("input, select, textarea")) report("error-link", el, "a field's error not tied to its field (aria-describedby)");
    }
  });
  // ARIA roles that promise keyboard behaviour the page does not give.
  document.querySelectorAll("[role=tablist]").forEach(function (el) {
    var tabs = el.querySelectorAll("[role=tab]");
    var panels = Array.prototype.filter.call(tabs, function (t) { return t.getAttribute("aria-controls"); });
    if (panels.length < tabs.length) report("aria-role", el, "role=tab without a tab panel (links to other pages are navigation)");
  });

  // 4. Images have alt; tables have headers.
  document.querySelectorAll("img").forEach(function (el) {
    if (!el.hasAttribute("alt") && exposed(el)) report("alt", el, "an image without alt");
  });
  document.querySelectorAll("table").forEach(function (el) {
    if (exposed(el) && el.getAttribute("role") !== "presentation" && !el.querySelector("th")) report("table", el, "a data table without headers");
  });

  // 5. Contrast of text against what is behind it (WCAG 1.4.3: 4.5:1, 3:1 for large text).
  var canvas = document.createElement("canvas");
  canvas.width = canvas.height = 1;
  var ctx = canvas.getContext("2d", { willReadFrequently: true });
  function rgba(css) {
    // The browser converts any CSS colour (color-mix, color(srgb …)) to pixels.
    ctx.clearRect(0, 0, 1, 1);
    ctx.fillStyle = "rgba(0,0,0,0)";
    ctx.fillStyle = css;
    ctx.fillRect(0, 0, 1, 1);
    var d = ctx.getImageData(0, 0, 1, 1).data;
    return [d[0], d[1], d[2], d[3] / 255];
  }
  function over(top, bottom) {
    var a = top[3];
    return [0, 1, 2].map(function (i) { return top[i] * a + bottom[i] * (1 - a); }).concat([1]);
  }
  function background(el) {
    var layers = [];
    for (var e = el; e && e.nodeType === 1; e = e.parentElement) {
      var cs = getComputedStyle(e);
      if (cs.backgroundImage && cs.backgroundImage !== "none") return null;  // unknowable here
      var c = rgba(cs.backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    var base = [255, 255, 255, 1];
    for (var i = layers.length - 1; i >= 0; i--) base = over(layers[i], base);
    return base;
  }
  function lum(c) {
    var v = c.slice(0, 3).map(function (x) { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
  }
  function ratio(a, b) { var x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); }
  var checked = new Set();
  var walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (var n = walker.nextNode(); n; n = walker.nextNode()) {
    var el = n.parentElement;
    if (!n.nodeValue.trim() || checked.has(el) || !rendered(el)) continue;
    checked.add(el);
    if (el.closest(".sr, .skip, .katex-mathml, option, script, style, noscript")) continue;
    var rect = el.getBoundingClientRect();
    if (rect.width === 0 || rect.height === 0) continue;
    var cs = getComputedStyle(el);
    var bg = background(el);
    if (!bg) continue;
    var opacity = 1;
    for (var o = el; o && o.nodeType === 1; o = o.parentElement) opacity *= +getComputedStyle(o).opacity;
    var fg = rgba(cs.color);
    fg[3] *= opacity;
    fg = over(fg, bg);
    var size = parseFloat(cs.fontSize), bold = +cs.fontWeight >= 700;
    var large = size >= 24 || (bold && size >= 18.66);
    var need = large ? 3 : 4.5;
    var r = ratio(fg, bg);
    if (r < need - 0.005) report("contrast", el, r.toFixed(2) + ":1 (need " + need + ":1), " + cs.color + " on " + "rgb(" + bg.slice(0, 3).map(Math.round).join(",") + ")");
  }

  // 6. Nothing wider than the window (1.4.10 reflow: 320 px wide without scrolling sideways).
  var doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth + 1) {
    var wide = [];
    document.querySelectorAll("body *").forEach(function (el) {
      var r = el.getBoundingClientRect();
      if (r.right > doc.clientWidth + 1 && rendered(el) && getComputedStyle(el).position !== "absolute") wide.push(el);
    });
    var outermost = wide.filter(function (el) { return !wide.some(function (o) { return o !== el && o.contains(el); }); });
    report("reflow", outermost[0] || null, "the page is " + doc.scrollWidth + " px wide in a " + doc.clientWidth + " px window (" + outermost.slice(0, 3).map(where).join("; ") + ")");
  }
  return problems;
}
