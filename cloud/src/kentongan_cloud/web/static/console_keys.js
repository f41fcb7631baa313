// Keyboard use of the board: j/k move between incidents, a acknowledges (or verifies) the
// selected one, Enter opens it, ? shows the help. Ignored while typing in a field.
(function () {
  "use strict";
  var table = document.getElementById("board");
  var help = document.getElementById("keys");
  var opener = document.getElementById("keys-open");
  if (!table || !help || !opener) { return; }
  var KEY = "kentongan-selected";
  var selected = window.sessionStorage.getItem(KEY);
  opener.hidden = false;

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#board-rows tr[data-id]"));
  }

  // Mark the selected row (it survives the live stream redrawing the rows).
  function mark(focus) {
    var found = null;
    rows().forEach(function (tr) {
      var on = tr.dataset.id === selected;
      tr.classList.toggle("selected", on);
      if (on) { tr.setAttribute("aria-current", "true"); found = tr; } else { tr.removeAttribute("aria-current"); }
    });
    table.dataset.selected = found ? selected : "";
    if (found && focus) { found.focus(); }
    return found;
  }

  function select(id, focus) {
    selected = id;
    window.sessionStorage.setItem(KEY, id);
    mark(focus);
  }

  function move(step) {
    var list = rows();
    if (!list.length) { return; }
    var i = list.findIndex(function (tr) { return tr.dataset.id === selected; });
    if (i < 0) { i = step > 0 ? 0 : list.length - 1; } else { i = Math.min(list.length - 1, Math.max(0, i + step)); }
    select(list[i].dataset.id, true);
  }

  function press(which) {
    var tr = mark(false);
    var button = tr && tr.querySelector(which);
    if (button) { button.click(); }
  }

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  function toggleHelp() {
    if (help.open) { help.close(); } else { help.showModal(); }
  }

  opener.addEventListener("click", toggleHelp);
  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) { return; }
    if (ev.key === "?") { ev.preventDefault(); toggleHelp(); return; }
    if (help.open) { return; }
    if (ev.key === "j") { move(1); }
    else if (ev.key === "k") { move(-1); }
    else if (ev.key === "a") { press(".act-acknowledge, .act-verify"); }
    else if (ev.key === "Enter" && ev.target.tagName === "TR") { ev.target.querySelector("a").click(); }
    else { return; }
    ev.preventDefault();
  });
  // Tabbing into a row's link or buttons selects that row too.
  table.addEventListener("focusin", function (ev) {
    var tr = ev.target.closest("tr[data-id]");
    if (tr && tr.dataset.id !== selected) { select(tr.dataset.id, false); }
  });
  table.addEventListener("board:rendered", function (ev) { mark(ev.detail && ev.detail.hadFocus); });
  mark(false);
}());
