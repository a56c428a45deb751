() => {
  // Clicking an [n] marker in an answer brings its cited passage into view (and opens an
  // earlier turn's collapsed sources). Capture phase: Gradio would open the link in a new tab.
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest('a[href^="#cite-"]');
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const target = document.getElementById(link.getAttribute("href").slice(1));
    if (!target) return;
    const turn = target.closest("details");
    if (turn && !turn.open) turn.open = true;
    target.scrollIntoView({ behavior: "smooth", block: "nearest" });
    target.classList.remove("cite-flash");
    void target.offsetWidth; // restart the animation on repeated clicks
    target.classList.add("cite-flash");
  }, true);

  // A new answer redraws the sources panel: show it from the top (the banner, then [1]).
  let shownTurns = null;
  new MutationObserver(() => {
    const panel = document.querySelector("#cites .cites-panel");
    const turns = panel ? panel.dataset.turns || "0" : null;
    if (panel && turns !== shownTurns) {
      shownTurns = turns;
      panel.scrollTop = 0;
    }
  }).observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ["data-turns"] });
}
