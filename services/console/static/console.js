// The console's only script: live countdowns, the reader's own time zone, and forms that show
// their outcome without a reload. Served from this origin (CSP script-src 'self').
(function () {
  "use strict";
  var zh = document.body.getAttribute("data-lang") === "zh-CN";

  function left(iso) {
    var ms = new Date(iso).getTime() - Date.now();
    var late = ms < 0, s = Math.floor(Math.abs(ms) / 1000);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (zh) {
      var text = (d ? d + "天" : "") + h + "小时" + m + "分";
      return late ? "已超时 " + text : "剩余 " + text;
    }
    var en = (d ? d + "d " : "") + h + "h " + (m < 10 ? "0" : "") + m + "m";
    return late ? "overdue by " + en : en + " left";
  }

  function tick(root) {
    root.querySelectorAll("[data-left]").forEach(function (el) {
      el.textContent = left(el.getAttribute("data-left"));
      el.classList.toggle("late", new Date(el.getAttribute("data-left")).getTime() < Date.now());
    });
  }

  function zones(root) {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone === "Asia/Shanghai") { return; }
    root.querySelectorAll("[data-local]").forEach(function (el) {
      var at = new Date(el.getAttribute("data-local"));
      el.textContent = "(" + at.toLocaleString(zh ? "zh-CN" : "en-GB",
        {dateStyle: "short", timeStyle: "short", timeZone: zone}) + " " + zone + ")";
    });
  }

  function wire(root) {
    root.querySelectorAll("form[data-fetch]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var button = form.querySelector("button[type=submit]");
        if (button) { button.disabled = true; }
        fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin",
                            headers: {"X-Console-Fetch": "1"}})
          .then(function (answer) { return answer.text(); })
          .then(function (html) {
            var body = document.getElementById("case-body");
            body.innerHTML = html;
            wire(body); tick(body); zones(body);
            var outcome = document.getElementById("outcome");
            if (outcome) { outcome.focus(); }
          })
          .catch(function () { form.submit(); });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    wire(document); tick(document); zones(document);
    window.setInterval(function () { tick(document); }, 30000);
  });
})();
