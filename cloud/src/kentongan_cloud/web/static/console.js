// The live board: rows from /konsol/stream (server-sent events), age timers, and the audible
// alert for new incidents once the operator has started the shift.
(function () {
  "use strict";
  var table = document.getElementById("board");
  if (!table) { return; }
  var tbody = document.getElementById("board-rows");
  var csrf = document.querySelector('meta[name="csrf"]').content;
  var canAct = table.dataset.canAct === "yes";
  var lang = table.dataset.lang;
  var seen = null;
  var audio = null;

  function label(key) { return table.getAttribute("data-l-" + key) || key; }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text) { e.textContent = text; }
    if (cls) { e.className = cls; }
    return e;
  }

  function actionsFor(r) {
    if (r.unverified) { return ["verify", "reject"]; }
    if (r.state === "new") { return ["acknowledge", "false_alarm"]; }
    if (r.state === "acknowledged") { return ["dispatch", "resolve"]; }
    return ["resolve"];
  }

  function ageText(iso) {
    var s = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 1000));
    var m = Math.floor(s / 60), h = Math.floor(m / 60);
    return h > 0 ? h + "j " + (m % 60) + "m" : m + "m " + (s % 60) + "d";
  }

  function confirmation(r) {
    var span = el("span", null, "confirm");
    if (r.unverified) { span.appendChild(el("em", label("unverified"))); }
    else if (r.confirmed) { span.appendChild(el("strong", label("confirmed"))); }
    else { span.textContent = label("unconfirmed"); }
    return span;
  }

  // Escalation step, who was paged (channel, outcome, time) and who acknowledged.
  function respondersCell(v) {
    var td = el("td", null, "resp");
    if (!v) { td.appendChild(el("span", label("esc_none"), "esc esc-none")); return td; }
    var head = v.status_text + " \u00b7 " + label("esc_step") + " " + v.step + "/" + v.max_steps;
    if (v.command_centre) { head += " \u00b7 " + label("esc_cc"); }
    td.appendChild(el("span", head, "esc esc-" + v.status));
    var ul = el("ul", null, "paged");
    v.paged.forEach(function (p) {
      var how = (p.channel ? p.channel + ", " : "") + p.outcome + " " + p.at;
      ul.appendChild(el("li", p.who + " (" + p.agency + "): " + how, p.acked ? "answered" : ""));
    });
    td.appendChild(ul);
    if (v.acked.length) {
      var acked = el("ul", null, "acked");
      v.acked.forEach(function (a) {
        acked.appendChild(el("li", label("acked_via") + ": " + a.who + " (" + a.agency + ") " +
          label("via") + " " + a.channel + " " + a.at));
      });
      td.appendChild(acked);
    }
    return td;
  }

  function rowOf(r) {
    var tr = el("tr", null, "state-" + r.state);
    tr.dataset.id = r.id;
    tr.tabIndex = -1;
    var age = el("time", ageText(r.opened_at), "age");
    age.setAttribute("datetime", r.opened_at);
    var td = el("td"); td.appendChild(age); tr.appendChild(td);
    td = el("td");
    var a = el("a", r.type_label); a.href = "/konsol/insiden/" + encodeURIComponent(r.id);
    td.appendChild(a);
    if (r.count > 1) { td.appendChild(document.createTextNode(" \u00d7" + r.count)); }
    td.appendChild(document.createTextNode(" "));
    td.appendChild(confirmation(r));
    tr.appendChild(td);
    tr.appendChild(el("td", r.post ? r.post + ", " + r.kampung : r.kampung));
    tr.appendChild(el("td", r.state_label, "state"));
    tr.appendChild(respondersCell(r.responders));
    tr.appendChild(el("td", r.acknowledged_by || "", "opt"));
    td = el("td", null, "actions");
    if (canAct) {
      actionsFor(r).forEach(function (act) {
        var f = el("form"); f.method = "post";
        f.action = "/konsol/insiden/" + encodeURIComponent(r.id) + "/" + act + "?lang=" + lang;
        var h = el("input"); h.type = "hidden"; h.name = "csrf"; h.value = csrf; f.appendChild(h);
        var b = el("button", label(act), "act-" + act); b.type = "submit"; f.appendChild(b);
        td.appendChild(f);
      });
    }
    tr.appendChild(td);
    return tr;
  }

  function beep() {
    var n = Number(document.body.dataset.alerts || "0") + 1;
    document.body.dataset.alerts = String(n);
    if (!audio) { return; }
    // Two strikes, like a kentongan.
    [0, 0.35].forEach(function (at) {
      var o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = 660; o.connect(g); g.connect(audio.destination);
      g.gain.setValueAtTime(0.4, audio.currentTime + at);
      g.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + at + 0.3);
      o.start(audio.currentTime + at); o.stop(audio.currentTime + at + 0.3);
    });
  }

  function render(rows) {
    var fresh = false;
    var ids = {};
    var hadFocus = tbody.contains(document.activeElement);
    rows.forEach(function (r) {
      ids[r.id] = true;
      if (seen !== null && !seen[r.id] && r.state === "new") { fresh = true; }
    });
    seen = ids;
    while (tbody.firstChild) { tbody.removeChild(tbody.firstChild); }
    if (rows.length === 0) {
      var tr = el("tr", null, "empty"), td = el("td", table.dataset.empty || "-");
      td.colSpan = 7; tr.appendChild(td); tbody.appendChild(tr);
    }
    rows.forEach(function (r) { tbody.appendChild(rowOf(r)); });
    table.dataset.rows = String(rows.length);
    // The keyboard script puts its selection back on the new rows.
    table.dispatchEvent(new CustomEvent("board:rendered", { detail: { hadFocus: hadFocus } }));
    if (fresh) { beep(); }
  }

  function tick() {
    Array.prototype.forEach.call(document.querySelectorAll("time.age"), function (t) {
      t.textContent = ageText(t.getAttribute("datetime"));
    });
  }
  setInterval(tick, 1000);
  tick();

  var live = document.getElementById("live-state");
  var source = new EventSource("/konsol/stream?lang=" + lang);
  source.addEventListener("board", function (ev) {
    live.hidden = true;
    render(JSON.parse(ev.data));
    document.body.dataset.live = "yes";
  });
  source.onerror = function () { live.hidden = false; };

  var shiftForm = document.getElementById("shift-form");
  var startBtn = document.getElementById("start-shift");
  var shiftState = document.getElementById("shift-state");
  function arm() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (Ctx && !audio) { audio = new Ctx(); }
  }
  if (!startBtn.hidden) {
    shiftForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      arm();  // inside the click: browsers allow sound only after a gesture
      fetch(shiftForm.action, { method: "POST", body: new FormData(shiftForm), credentials: "same-origin" })
        .then(function (r) {
          if (r.ok) { startBtn.hidden = true; shiftState.hidden = false; document.body.dataset.shift = "on"; }
        });
    });
  } else {
    // Already on shift after a reload: sound needs one more gesture, any key or click.
    document.body.dataset.shift = "on";
    document.addEventListener("click", arm, { once: true });
    document.addEventListener("keydown", arm, { once: true });
  }
}());
