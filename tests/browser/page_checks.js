// What is wrong with the page as it stands, each as a sentence (browser_support.page_problems).
({
  // Sideways scrolling. On failure: the outermost elements sticking out past the window
  // (and past their parent), as hints to the culprit.
  overflow() {
    const width = window.innerWidth;
    if (document.documentElement.scrollWidth <= width) return [];
    const name = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
      + (typeof e.className === "string" && e.className.trim() ? "." + e.className.trim().split(/\s+/).join(".") : "");
    return [...document.querySelectorAll("body *")]
      .filter((e) => e.getBoundingClientRect().right > width + 1)
      .filter((e) => e.parentElement.getBoundingClientRect().right <= width + 1)
      .slice(0, 8)
      .map((e) => `${name(e)} ends at ${Math.round(e.getBoundingClientRect().right)}px`);
  },

  // Markup a keyboard, a screen reader or a password manager trips on.
  accessibility(autofill) {
    const problems = [];
    const seen = {};
    for (const e of document.querySelectorAll("[id]")) seen[e.id] = (seen[e.id] || 0) + 1;
    for (const [id, count] of Object.entries(seen)) {
      if (count > 1) problems.push(`id "${id}" is used ${count} times`);
    }
    for (const e of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
      const what = `${e.tagName.toLowerCase()} name="${e.name}"`;
      const labelled = (e.labels && e.labels.length)
        || e.getAttribute("aria-label") || e.getAttribute("aria-labelledby");
      if (!labelled) problems.push(`${what} has no label`);
      const value = e.getAttribute("autocomplete");
      if (value === null) continue;
      const tokens = value.trim().toLowerCase().split(/\s+/)
        .filter((t) => !t.startsWith("section-") && !["shipping", "billing", "webauthn"].includes(t));
      if (tokens.length !== 1 || !autofill.includes(tokens[0])) {
        problems.push(`${what} has autocomplete="${value}"`);
      }
    }
    for (const e of document.querySelectorAll("button, a[href]")) {
      const name = e.innerText.trim() || e.getAttribute("aria-label") || e.getAttribute("title");
      if (!(name || e.querySelector("img[alt], svg title"))) {
        problems.push(`${e.tagName.toLowerCase()} without a name: ${e.outerHTML.slice(0, 80)}`);
      }
    }
    if (!document.documentElement.lang) problems.push("no lang on <html>");
    if (!document.title.trim()) problems.push("no <title>");
    if (!document.querySelector('link[rel~="icon"]')) problems.push("no favicon link");
    // One page title (the vendored API reference's own headings aside).
    const headings = [...document.querySelectorAll("h1")].filter((e) => !e.closest(".swagger-ui")).length;
    if (headings !== 1) problems.push(`${headings} <h1> elements`);
    return problems;
  },

  // WCAG AA contrast of visible text: 4.5:1, or 3:1 for large text (24 px, or 18.66 px bold).
  contrast() {
    const rgba = (value) => (value.match(/[\d.]+/g) || [0, 0, 0, 0]).map(Number).concat([1]).slice(0, 4);
    const channel = (c) => (c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
    const over = (top, below) => [0, 1, 2].map((i) => top[i] * top[3] + below[i] * (1 - top[3]));
    const background = (element) => {
      const layers = [];
      for (let e = element; e; e = e.parentElement) {
        const color = rgba(getComputedStyle(e).backgroundColor);
        if (color[3] > 0) layers.push(color);
        if (color[3] >= 1) break;
      }
      return layers.reverse().reduce((below, top) => over(top, below), [255, 255, 255]);
    };
    const problems = [];
    const checked = new Set();
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const element = node.parentElement;
      if (!node.textContent.trim() || checked.has(element)) continue;
      // Exempt: drawings, inactive controls, what is hidden from people anyway.
      if (element.closest("svg, option, [disabled], [aria-hidden=true], .sr-only")) continue;
      checked.add(element);
      const style = getComputedStyle(element);
      const box = element.getBoundingClientRect();
      if (style.visibility !== "visible" || box.width === 0 || box.height === 0) continue;
      const bg = background(element);
      const text = luminance(over(rgba(style.color), bg));
      const ground = luminance(bg);
      const ratio = (Math.max(text, ground) + 0.05) / (Math.min(text, ground) + 0.05);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (parseInt(style.fontWeight, 10) >= 700 && size >= 18.66);
      const needed = large ? 3 : 4.5;
      if (ratio < needed) {
        const words = node.textContent.trim().slice(0, 40);
        problems.push(`contrast ${ratio.toFixed(2)} < ${needed}: "${words}" (${element.tagName.toLowerCase()}.${element.className})`);
      }
    }
    return problems.slice(0, 10);
  },
})
