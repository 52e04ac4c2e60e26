/* Fil: small conveniences. Every page works without this file (CSP: script-src 'self').
   - "/" moves the focus to the search box (unless the reader is typing somewhere);
   - the footer then mentions the key;
   - on wide screens of browsers that cannot style a closed <details>, the filters open. */
(function () {
  "use strict";

  function typing(el) {
    if (!el || !el.tagName) return false;
    return el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName);
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) return;
    var box = document.getElementById("q");
    if (!box) return;
    event.preventDefault();
    box.focus();
    box.select();
  });

  var hint = document.querySelector(".key-hint");
  if (hint) hint.hidden = false;

  var filters = document.getElementById("filtres");
  var styled = window.CSS && CSS.supports && CSS.supports("selector(::details-content)");
  if (filters && !styled && window.matchMedia("(min-width: 56rem)").matches) {
    filters.open = true;
  }
})();
