() => {
  const panelOf = (el) => el.closest(".cites-panel");

  // Clicking an [n] marker in an answer brings its cited passage into view (opening an earlier
  // turn's collapsed sources if needed). Capture phase: Gradio would open the link in a new tab.
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest('a[href^="#cite-"]');
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const target = document.getElementById(link.getAttribute("href").slice(1));
    if (!target) return;
    const turn = target.closest("details");
    if (turn && !turn.open) turn.open = true;
    // A passage taller than the panel: show its highlighted sentence rather than its top.
    const panel = panelOf(target);
    const mark = target.querySelector("mark");
    const tall = panel && target.offsetHeight > panel.clientHeight;
    // Side by side, the panel scrolls on its own ("nearest" keeps the page still); stacked on a
    // narrow screen, the page scrolls and the passage should arrive at the top, not the bottom edge.
    const stacked = window.matchMedia("(max-width: 720px)").matches;
    (tall && mark ? mark : target).scrollIntoView({ behavior: "smooth", block: tall ? "center" : stacked ? "start" : "nearest" });
    target.classList.remove("cite-flash");
    void target.offsetWidth; // restart the animation on repeated clicks
    target.classList.add("cite-flash");
  }, true);

  // "展开全文 / Full text" shows a long paragraph's folded parts.
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest(".cite-expand");
    if (!button) return;
    const cite = button.closest("article.cite");
    const open = cite.classList.toggle("expanded");
    button.setAttribute("aria-expanded", String(open));
    button.textContent = open ? "收起 / Less" : "展开全文 / Full text";
  });

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
