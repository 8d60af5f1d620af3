// What several views share: the team's collections and the one the person works on.
import { apiAll } from "./api.js";
import { h } from "./dom.js";

export const state = { collections: [], current: null };
const listeners = [];

/** Calls `listener` whenever the collections or the current one change. */
export function onCollectionsChanged(listener) {
  listeners.push(listener);
}

function changed() {
  for (const select of document.querySelectorAll("select[data-collections]")) fillSelect(select);
  for (const listener of listeners) listener();
}

export async function loadCollections() {
  state.collections = await apiAll("/collections");
  if (!state.collections.some((c) => c.id === state.current)) state.current = state.collections.at(-1)?.id ?? null;
  changed();
}

export function selectCollection(id) {
  state.current = id;
  changed();
}

export const collectionName = (id) => state.collections.find((c) => c.id === id)?.name ?? id;

function fillSelect(select) {
  const optional = select.hasAttribute("data-optional");
  const keep = optional ? select.value : state.current;
  select.replaceChildren(
    ...(optional ? [h("option", { value: "" }, "any collection")] : []),
    ...state.collections.map((c) => h("option", { value: c.id }, c.name)));
  select.value = keep ?? "";
  if (!optional && state.collections.length === 0) select.append(h("option", { value: "" }, "create a collection first"));
}

// A collection picked anywhere is the current one everywhere.
document.addEventListener("change", (event) => {
  const select = event.target;
  if (select instanceof HTMLSelectElement && select.hasAttribute("data-collections") && !select.hasAttribute("data-optional") && select.value)
    selectCollection(select.value);
});
