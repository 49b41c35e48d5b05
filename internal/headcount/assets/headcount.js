// SPDX-License-Identifier: AGPL-3.0-or-later
// The nominal roll's print button (inline handlers are barred by the CSP).
document.addEventListener("click", function (e) {
  var b = e.target.closest("[data-print]");
  if (b) { e.preventDefault(); window.print(); }
});
document.querySelectorAll("[data-print]").forEach(function (b) { b.hidden = false; });
