// The panic button: hold to confirm (a slip of the thumb sends nothing), then send at once.
// The position goes with it when the phone already has one; otherwise it follows later.
(function () {
  "use strict";
  var btn = document.getElementById("panic");
  if (!btn) { return; }
  var HOLD_MS = 1500;
  var csrf = document.querySelector('meta[name="csrf"]').content;
  var state = document.getElementById("panic-state");
  var hex = function (n) {
    var a = new Uint8Array(n); crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  };
  var uuid = function () {
    var h = hex(16);
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-4" + h.slice(13, 16) + "-" +
      ((parseInt(h[16], 16) & 3) | 8).toString(16) + h.slice(17, 20) + "-" + h.slice(20, 32);
  };
  var session = hex(16), boot = uuid(), seq = 0;
  var position = null, pending = null, timer = null;

  if (navigator.geolocation) {
    navigator.geolocation.watchPosition(function (p) {
      position = { lat: p.coords.latitude, lon: p.coords.longitude,
        accuracy_m: Math.min(100000, Math.round(p.coords.accuracy)) };
      document.body.dataset.position = "yes";
      if (pending) { sendPosition(pending); pending = null; }
    }, function () {}, { enableHighAccuracy: true, maximumAge: 30000 });
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body)
    });
  }

  function sendPosition(incidentId) {
    post("/jaga/posisi", { incident_id: incidentId, position: position }).then(function (r) {
      if (r.ok) { state.textContent = btn.dataset.sent + " · " + btn.dataset.position; }
    });
  }

  function send(event, attempt) {
    state.textContent = btn.dataset.sending;
    post("/api/v1/intake/phone", event).then(function (r) {
      if (!r.ok) { throw new Error(String(r.status)); }
      return r.json();
    }).then(function (receipt) {
      btn.classList.add("sent");
      state.textContent = btn.dataset.sent + (event.position ? " · " + btn.dataset.position : "");
      document.body.dataset.incident = receipt.incident_id || "";
      if (!event.position && receipt.incident_id) {
        if (position) { sendPosition(receipt.incident_id); } else { pending = receipt.incident_id; }
      }
    }).catch(function () {
      // Weak signal: send the same event again (same event_id: the cloud counts it once).
      state.textContent = btn.dataset.failed;
      setTimeout(function () { send(event, attempt + 1); }, Math.min(10000, 1000 * (attempt + 1)));
    });
  }

  function fire() {
    var chosen = document.querySelector('input[name="incident_type"]:checked');
    seq += 1;
    var event = {
      event_id: uuid(), session_id: session, boot_id: boot, seq: seq,
      monotonic_ms: Math.round(performance.now()), occurred_at: new Date().toISOString(),
      clock_synced: true, source: "phone", kind: "panic", input: "hp_penjaga",
      incident_type: chosen ? chosen.value : null
    };
    if (position) { event.position = position; }
    send(event, 0);
  }

  function start(ev) {
    ev.preventDefault();
    if (timer) { return; }
    btn.classList.remove("sent");
    btn.classList.add("holding");
    timer = setTimeout(function () { timer = null; btn.classList.remove("holding"); fire(); }, HOLD_MS);
  }
  function stop() {
    if (timer) { clearTimeout(timer); timer = null; }
    btn.classList.remove("holding");
  }
  btn.addEventListener("pointerdown", start);
  btn.addEventListener("pointerup", stop);
  btn.addEventListener("pointerleave", stop);
  btn.addEventListener("pointercancel", stop);
  // Keyboard: hold Space or Enter.
  btn.addEventListener("keydown", function (ev) { if ((ev.key === " " || ev.key === "Enter") && !ev.repeat) { start(ev); } });
  btn.addEventListener("keyup", function (ev) { if (ev.key === " " || ev.key === "Enter") { stop(); } });
}());
