// Progressive enhancement: the form works without this; with it, the phone's position is
// offered. The resident may still choose a kampung instead.
(function () {
  "use strict";
  var btn = document.getElementById("locate");
  var state = document.getElementById("locate-state");
  if (!btn || !navigator.geolocation) { return; }
  btn.hidden = false;
  btn.addEventListener("click", function () {
    navigator.geolocation.getCurrentPosition(function (p) {
      document.getElementById("lat").value = p.coords.latitude.toFixed(6);
      document.getElementById("lon").value = p.coords.longitude.toFixed(6);
      document.getElementById("accuracy").value = Math.round(p.coords.accuracy);
      state.textContent = state.dataset.got;
    }, function () {
      state.textContent = state.dataset.none;
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  });
}());
