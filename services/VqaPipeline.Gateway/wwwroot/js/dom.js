// Small DOM helpers: elements are built from text, never from HTML strings, so names and answers cannot inject markup.

/** Creates an element: attributes (on* as listeners, `text` as its text) and children (strings become text). */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") element.textContent = value;
    else if (name.startsWith("on")) element.addEventListener(name.slice(2).toLowerCase(), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) element.append(child);
  }
  return element;
}

export const $ = (id) => document.getElementById(id);

/** Shows a message in the page's alert line (or hides it). */
export function showError(message) {
  const line = $("error");
  line.textContent = message ?? "";
  line.hidden = !message;
}

/** Runs an action, showing its failure as one sentence instead of letting it escape. */
export async function guarded(action) {
  try {
    showError(null);
    return await action();
  } catch (error) {
    if (error?.status !== 401) showError(error?.message ?? String(error));
    return undefined;
  }
}

export const formatScore = (score) => (typeof score === "number" ? score.toFixed(3) : "");

export function formatSeconds(seconds) {
  if (seconds === null || seconds === undefined) return "estimating…";
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 60 ? `${minutes} min ${Math.round(seconds % 60)} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** A pager under a grid: "Previous", "Page x of y", "Next"; calls `go(page)`. */
export function renderPager(container, page, pages, go, hasNext = pages !== null && page < pages - 1) {
  container.replaceChildren();
  if (page <= 0 && !hasNext) return;
  container.append(
    h("button", { type: "button", class: "secondary", disabled: page <= 0, onclick: () => go(page - 1) }, "Previous"),
    h("span", { text: pages === null ? `Page ${page + 1}` : `Page ${page + 1} of ${pages}` }),
    h("button", { type: "button", class: "secondary", disabled: !hasNext, onclick: () => go(page + 1) }, "Next"));
}

/** An <img> whose source arrives later (a thumbnail fetched with the key). */
export function lazyImage(source, alt) {
  const image = h("img", { class: "thumb", alt, decoding: "async" });
  source.then((url) => { image.src = url; }, () => { image.alt = `${alt} (no preview)`; });
  return image;
}
