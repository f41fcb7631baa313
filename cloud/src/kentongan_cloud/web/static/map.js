// Posts coloured by state and open incidents as circle markers: they need no tiles, so the
// map is useful even when the tile server cannot be reached. Kept live by the board's
// server-sent events stream (`map` events), not by polling.
(function () {
  "use strict";
  var box = document.getElementById("map");
  if (!box || !window.L) { return; }
  var map = L.map(box, { preferCanvas: true });
  L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {
    maxZoom: 19, attribution: "&copy; OpenStreetMap"
  }).addTo(map);
  var colours = { online: "#1d6b2f", offline: "#a00000", alarm: "#e08a00" };
  var layer = L.layerGroup().addTo(map);
  var fitted = false;
  function draw(data) {
    layer.clearLayers();
    var pts = [];
    data.posts.forEach(function (p) {
      pts.push([p.lat, p.lon]);
      L.circleMarker([p.lat, p.lon], { radius: 7, color: colours[p.state] || "#555", fillOpacity: 0.8 })
        .bindTooltip(p.name + " (" + p.state + ")").addTo(layer);
    });
    data.incidents.forEach(function (i) {
      pts.push([i.lat, i.lon]);
      L.circleMarker([i.lat, i.lon], { radius: 13, color: "#a00000", weight: 3, fill: false })
        .bindTooltip(i.type_label + " — " + (i.post || i.kampung)).addTo(layer);
    });
    if (!fitted && pts.length) { map.fitBounds(pts, { padding: [20, 20] }); fitted = true; }
    box.dataset.markers = String(pts.length);
    box.dataset.incidents = String(data.incidents.length);
  }
  var live = document.getElementById("live-state");
  var source = new EventSource("/konsol/stream?peta=1&lang=" + (document.documentElement.lang || "id"));
  source.addEventListener("map", function (ev) {
    live.hidden = true;
    draw(JSON.parse(ev.data));
  });
  source.onerror = function () { live.hidden = false; };
}());
