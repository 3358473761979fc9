// Enhancements only: every page works without this script.
(function () {
  "use strict";
  // Show the list of problems to keyboard and screen-reader users first.
  var errors = document.getElementById("errors");
  if (errors) { errors.focus(); }
  // Ticking a numeric item's "don't know" clears its number, and back.
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.type === "checkbox" && /\.dk$/.test(t.name) && t.checked) {
      var n = document.getElementById(t.name.slice(0, -3));
      if (n) { n.value = ""; }
    } else if (t.type === "text" && t.value !== "") {
      var dk = document.getElementById(t.id + "-dk");
      if (dk) { dk.checked = false; }
    }
  });
  // One click sends a form once.
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (f.dataset.sent) { e.preventDefault(); return; }
    f.dataset.sent = "1";
  });
})();
