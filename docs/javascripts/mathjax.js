// MathJax's settings for pymdownx.arithmatex's generic output: \( \) inline, \[ \] displayed, and only in
// the elements arithmatex marks. MathJax itself (mathjax/tex-svg-full.js, MathJax 3.2.2 from npm's
// `mathjax@3` package, es5/tex-svg-full.js, Apache-2.0: mathjax/LICENSE) is served with the site: SVG
// output needs no font files, and the "full" build holds every TeX extension, so nothing is fetched from
// elsewhere, at build time or in the browser.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
  },
  svg: {
    fontCache: "global",
  },
};

// With Material's instant navigation a page is swapped in without a reload: typeset it again then.
// (MathJax typesets the first page by itself; before it has loaded, typesetPromise is not there yet.)
if (typeof document$ !== "undefined") {
  document$.subscribe(() => {
    if (window.MathJax && window.MathJax.typesetPromise) {
      MathJax.typesetClear();
      MathJax.texReset();
      MathJax.typesetPromise();
    }
  });
}
