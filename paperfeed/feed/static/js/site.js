// paperfeed: small progressive enhancements. Everything works without this file.
(function () {
  "use strict";
  // TeX through KaTeX with its safety limits (RELIABILITY S6): no \href/\url/\includegraphics
  // (trust:false), bounded macro expansion and sizes; on any error the source text stays as text.
  var KATEX = { trust: false, maxExpand: 1000, maxSize: 10, throwOnError: true, strict: "ignore" };

  function renderMath(root) {
    if (!window.katex) return;
    root.querySelectorAll(".math").forEach(function (el) {
      var tex = el.textContent;
      try {
        var opts = Object.assign({ displayMode: el.classList.contains("display") }, KATEX);
        window.katex.render(tex, el, opts);
      } catch (e) {
        el.textContent = tex;
      }
    });
    if (!window.renderMathInElement) return;
    root.querySelectorAll(".tex").forEach(function (el) {
      window.renderMathInElement(el, Object.assign({
        delimiters: [
          { left: "$$", right: "$$", display: true },
          { left: "\\[", right: "\\]", display: true },
          { left: "$", right: "$", display: false },
          { left: "\\(", right: "\\)", display: false }
        ],
        ignoredTags: ["script", "noscript", "style", "textarea", "pre", "code", "option"],
        errorCallback: function () {}
      }, KATEX));
    });
  }

  // Why a vote failed, in the site's words when it sent some: its JSON's `message`, else its `error`
  // as a sentence (core.text.sentence), as the site's 429 page says it ("Too many requests (upvotes
  // and their removals: 30 a minute); try again in about a minute."). Only an answer without such
  // JSON (a proxy's page) gets words of this file's own.
  function voteError(r) {
    return r.json().catch(function () { return {}; }).then(function (data) {
      data = data || {};  // a JSON null
      var said = [data.message, data.error].filter(function (s) {
        return typeof s === "string" && s.trim();
      })[0];
      if (said) {
        said = said.trim();
        return said.charAt(0).toUpperCase() + said.slice(1) + (/[.!?]$/.test(said) ? "" : ".");
      }
      if (r.status === 429) return "Too many requests: wait a little, then try again.";
      return "Could not vote (" + r.status + "). Reload the page and try again.";
    });
  }

  // Where a vote's failure is said: the note the page has beside the button's card or heading, in
  // the flow of the text (it covers nothing) and a live region from the start (or screen readers
  // miss it); it stays until dismissed or the next vote, since reading takes however long it takes.
  function voteNote(form) {
    var scope = form.closest(".card, .paper-head") || form.parentNode;
    var note = scope.querySelector(".vote-note");
    if (!note) {
      note = document.createElement("div");
      note.className = "vote-note";
      note.innerHTML = '<p class="vote-msg" role="status" aria-live="polite"></p>' +
        '<button type="button" class="link vote-dismiss" hidden>Dismiss</button>';
      form.insertAdjacentElement("afterend", note);
    }
    return note;
  }

  function say(note, text) {
    note.querySelector(".vote-msg").textContent = text;
    note.querySelector(".vote-dismiss").hidden = !text;
    note.classList.toggle("shown", !!text);
  }

  function wireDismiss(root) {
    root.addEventListener("click", function (ev) {
      var button = ev.target.closest && ev.target.closest(".vote-dismiss");
      if (!button) return;
      var note = button.closest(".vote-note");
      say(note, "");
      // The focused button just went away: back to the vote it was about.
      var scope = note.closest(".card, .paper-head");
      var vote = scope && scope.querySelector("form.vote button");
      if (vote) vote.focus();
    });
  }

  // Upvote without reloading the page; the form still works as a plain POST. The button's state
  // changes only when the site says the vote counted, so a failure leaves it as it was.
  function wireVotes(root) {
    root.addEventListener("submit", function (ev) {
      var form = ev.target;
      if (!form.classList || !form.classList.contains("vote") || !window.fetch) return;
      ev.preventDefault();
      var action = form.querySelector("input[name=action]");
      var button = form.querySelector("button");
      // One vote at a time per button. Not `disabled`: a disabled button loses the keyboard focus,
      // which would drop a keyboard user at the top of the page after every vote.
      if (form.getAttribute("aria-busy") === "true") return;
      var note = voteNote(form);
      say(note, "");
      form.setAttribute("aria-busy", "true");
      // getAttribute: the form's own input named "action" shadows form.action.
      fetch(form.getAttribute("action"), { method: "POST", body: new FormData(form), headers: { Accept: "application/json" },
                           credentials: "same-origin" })
        .then(function (r) {
          if (r.ok) return r.json();
          return voteError(r).then(function (message) {
            var e = new Error(message);
            e.shown = true;
            throw e;
          });
        })
        .then(function (data) {
          form.querySelector(".count").textContent = data.upvotes;
          var unit = form.querySelector(".count-unit");
          if (unit) unit.textContent = data.upvotes === 1 ? " upvote" : " upvotes";
          form.classList.toggle("on", data.voted);
          var tri = form.querySelector(".tri");
          if (tri) tri.textContent = data.voted ? "\u25B2" : "\u25B3";  // ▲ voted, △ not
          button.setAttribute("aria-pressed", data.voted ? "true" : "false");
          action.value = data.voted ? "down" : "up";
          // The vote put an unlisted paper on today's list: said where a refusal would be.
          if (data.message) {
            say(note, data.message);
            var unlisted = document.getElementById("unlisted-note");
            if (unlisted) unlisted.hidden = true;
          }
        })
        .catch(function (e) {
          say(note, e.shown ? e.message : "Could not vote: no answer from the site. Try again.");
        })
        .finally(function () { form.removeAttribute("aria-busy"); });
    });
  }

  // "For you" titles are plain links (new tab, middle-click and copy work); following one still
  // tells the site the paper was opened, so it is not recommended again. Without this file a link
  // goes through the site's "opened" redirect; here it goes straight to the paper (the address a
  // reader copies) and a beacon, which outlives the page it leaves, says so: one record either way.
  function wireSeen(root) {
    root.querySelectorAll("a[data-seen][data-href]").forEach(function (link) {
      link.setAttribute("href", link.getAttribute("data-href"));
    });
    function report(ev) {
      if (ev.type === "auxclick" && ev.button !== 1) return;
      var link = ev.target.closest && ev.target.closest("a[data-seen]");
      if (!link) return;
      var token = document.querySelector("input[name=csrfmiddlewaretoken]");
      var body = new FormData();
      body.append("csrfmiddlewaretoken", token ? token.value : "");
      body.append("beacon", "1");
      var url = link.getAttribute("data-seen");
      if (navigator.sendBeacon && navigator.sendBeacon(url, body)) return;
      if (window.fetch) {
        fetch(url, { method: "POST", body: body, credentials: "same-origin", keepalive: true })
          .catch(function () {});
      }
    }
    root.addEventListener("click", report);
    root.addEventListener("auxclick", report);
  }

  // A cached page carries absolute times (always true); the reader's own clock turns them into
  // "5 minutes ago", as the filter `ago` words them, with the absolute time kept as the tooltip.
  var UNITS = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400], ["hour", 3600],
               ["minute", 60]];

  function ago(seconds) {
    for (var i = 0; i < UNITS.length; i++) {
      var n = Math.floor(seconds / UNITS[i][1]);
      if (n >= 1) return n + "\u00a0" + UNITS[i][0] + (n === 1 ? "" : "s") + " ago";  // as `ago`: unbroken
    }
    return "just now";  // under a minute, or a moment ahead of this reader's clock
  }

  function relativeTimes(root) {
    root.querySelectorAll("time[data-ago]").forEach(function (el) {
      // Milliseconds at most: Django's ISO 8601 has microseconds, which not every engine parses.
      var when = Date.parse(el.getAttribute("datetime").replace(/(\.\d{3})\d+/, "$1"));
      if (isNaN(when)) return;
      if (!el.title) el.title = el.textContent;
      el.textContent = ago((Date.now() - when) / 1000);
    });
  }

  // The sticky header's height (one row or two, larger with bigger text) as the page's scroll
  // padding, so that an element scrolled into view by the keyboard is not hidden under it.
  function padForHeader() {
    var header = document.querySelector("header.top");
    if (!header) return;
    function pad() {
      var sticky = getComputedStyle(header).position === "sticky";
      document.documentElement.style.scrollPaddingTop = sticky ? header.offsetHeight + 12 + "px" : "";
    }
    pad();
    window.addEventListener("resize", pad);
  }

  // A form sent back with errors: the keyboard starts at its first wrong field (each field names its
  // message with aria-describedby), not at the top of the page. A field the page focuses itself wins.
  function focusFirstError() {
    var field = document.querySelector("main [aria-invalid=true]");
    if (field && !document.querySelector("[autofocus]")) field.focus();
  }

  // An inline formula wider than its text (a sentence set in $\textbf{…}$: KaTeX keeps its spaces
  // from breaking) scrolls inside itself rather than widening the page on a phone. Only such ones:
  // a box of its own would lift every formula off the line's baseline.
  function fitWideMath(root) {
    function fit() {
      root.querySelectorAll(".tex .katex").forEach(function (k) {
        if (k.closest(".katex-display")) return;
        var column = k.closest(".tex");
        // An inline .tex (a similar paper's link) is no column: its clientWidth is 0, which made every
        // formula in it "wide", a box of its own sitting apart from the colon after it. Its block is.
        while (column.parentElement && getComputedStyle(column).display === "inline") {
          column = column.parentElement;
        }
        k.classList.remove("wide");
        if (k.getBoundingClientRect().width > column.clientWidth) k.classList.add("wide");
      });
    }
    fit();
    if (document.fonts) document.fonts.ready.then(fit);  // KaTeX's fonts change the widths
    window.addEventListener("resize", fit);
  }

  // The feed page's Copy buttons (hidden without JavaScript, where the address is selectable).
  function wireCopy(root) {
    root.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
      var field = document.getElementById(button.getAttribute("data-copy"));
      var said = root.querySelector(".copy-said");
      if (!field) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        field.select();
        var done = function () { if (said) said.textContent = "Copied: " + field.value; };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(field.value).then(done, function () {
            if (said) said.textContent = "Press Ctrl+C (⌘C) to copy the selected address.";
          });
        } else if (document.execCommand && document.execCommand("copy")) {
          done();
        } else if (said) {
          said.textContent = "Press Ctrl+C (⌘C) to copy the selected address.";
        }
      });
    });
  }

  function start() {
    renderMath(document.body); fitWideMath(document); wireVotes(document); wireDismiss(document); wireSeen(document);
    relativeTimes(document);
    setInterval(function () { relativeTimes(document); }, 60000);  // a page left open stays true
    padForHeader(); focusFirstError(); wireCopy(document);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
