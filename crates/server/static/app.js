// opsdesk: keyboard shortcuts and small niceties. Every page works without
// this file; it only saves keystrokes.
(function () {
  "use strict";
  var pendingG = false;
  var rows = function () { return Array.prototype.slice.call(document.querySelectorAll("tr[data-row]")); };
  var current = -1;

  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function go(href) { window.location.href = href; }

  function move(delta) {
    var list = rows();
    if (!list.length) return;
    if (current >= 0 && list[current]) list[current].classList.remove("current");
    current = Math.max(0, Math.min(list.length - 1, current + delta));
    var row = list[current];
    row.classList.add("current");
    var link = row.querySelector("td.title a") || row.querySelector("a");
    if (link) link.focus();
  }

  function toggleHelp(show) {
    var box = document.getElementById("shortcuts");
    if (!box) return;
    box.hidden = show === undefined ? !box.hidden : !show;
  }

  function comment(internal) {
    var body = document.getElementById("comment-body");
    if (!body) return;
    var radio = document.getElementById(internal ? "visibility-internal" : "visibility-public");
    if (radio) radio.checked = true;
    body.focus();
  }

  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { toggleHelp(false); return; }
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    if (pendingG) {
      pendingG = false;
      var q = { m: "mine", t: "team", u: "unassigned", o: "open" }[e.key];
      if (q) { e.preventDefault(); go("/agent/queues/" + q); }
      return;
    }
    switch (e.key) {
      case "g": pendingG = true; setTimeout(function () { pendingG = false; }, 1500); break;
      case "?": toggleHelp(); break;
      case "/": var s = document.getElementById("q"); if (s) { e.preventDefault(); s.focus(); } break;
      case "j": move(1); break;
      case "k": move(-1); break;
      case "x":
        var list = rows();
        if (current >= 0 && list[current]) {
          var box = list[current].querySelector("input[type=checkbox]");
          if (box) box.checked = !box.checked;
        }
        break;
      case "c": go(document.querySelector("a[href='/tickets/new']") ? "/tickets/new" : "/portal/new?kind=incident"); break;
      case "r": e.preventDefault(); comment(false); break;
      case "n": e.preventDefault(); comment(true); break;
      case "a": var me = document.getElementById("assign-me"); if (me) me.submit(); break;
      default: return;
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    // Select every ticket on the page.
    var all = document.getElementById("select-all");
    if (all) all.addEventListener("change", function () {
      document.querySelectorAll("input[name=t]").forEach(function (b) { b.checked = all.checked; });
    });
    // Show the priority the matrix gives while impact/urgency are chosen.
    var form = document.getElementById("priority-form");
    if (form) {
      var matrix = {};
      (form.getAttribute("data-matrix") || "").split(",").forEach(function (kv) {
        var p = kv.split("="); if (p.length === 2) matrix[p[0]] = p[1];
      });
      var out = document.getElementById("computed-priority");
      var update = function () {
        var key = form.querySelector("#impact").value + ":" + form.querySelector("#urgency").value;
        if (out && matrix[key]) out.textContent = matrix[key];
      };
      form.querySelector("#impact").addEventListener("change", update);
      form.querySelector("#urgency").addEventListener("change", update);
    }
    // Ask before destructive forms.
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (e) {
        if (!window.confirm(f.getAttribute("data-confirm"))) e.preventDefault();
      });
    });
  });
})();
