// Collections: create, pick, upload (drag and drop or file inputs, progress per file) and a paged grid of images.
import { api, thumbnail, upload, withPage } from "./api.js";
import { $, guarded, h, lazyImage, renderPager, showError } from "./dom.js";
import { loadCollections, onCollectionsChanged, selectCollection, state } from "./state.js";

const PageSize = 24;
let images = [];
let page = 0;
// The cursor of each page shown so far (the API pages with a cursor, never an offset): cursors[0] is the first page's.
let cursors = [null];
let summary = null;
let refreshTimer = null;

export function init() {
  $("create-collection").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(async () => {
      const created = await api("/collections", { method: "POST", json: { name: $("new-collection-name").value.trim() } });
      $("new-collection-name").value = "";
      state.current = created.id;
      await loadCollections();
    });
  });
  onCollectionsChanged(() => {
    renderList();
    showCollection();
  });
  $("upload-files").addEventListener("change", (event) => uploadAll([...event.target.files], event.target));
  $("upload-folder").addEventListener("change", (event) => uploadAll([...event.target.files], event.target));
  $("import-form").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(importFromBucket);
  });
  $("image-filter").addEventListener("change", () => { firstPage(); guarded(loadImages); });
  $("refresh-images").addEventListener("click", () => guarded(loadImages));
  const zone = $("drop-zone");
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", async (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    uploadAll(await droppedFiles(event.dataTransfer), null);
  });
}

export function shown() {
  if (state.current) guarded(loadImages);
}

function renderList() {
  $("collection-list").replaceChildren(...state.collections.map((collection) => h("li", {},
    h("button", { type: "button", "aria-pressed": String(collection.id === state.current), onclick: () => selectCollection(collection.id) },
      collection.name))));
}

let shownCollection = null;
function showCollection() {
  $("collection-detail").hidden = !state.current;
  if (!state.current || state.current === shownCollection) return;
  shownCollection = state.current;
  firstPage();
  $("upload-list").replaceChildren();
  $("image-grid").replaceChildren();
  guarded(loadImages);
}

function firstPage() {
  page = 0;
  cursors = [null];
}

/** Reads the page of the grid shown now from the API (24 images, after the cursor of that page). */
async function loadImages() {
  const collectionId = state.current;
  if (!collectionId) return;
  const filter = $("image-filter").value;
  const shownPage = page;
  const [described, listed] = await Promise.all([
    api(`/collections/${collectionId}`),
    api(withPage(`/collections/${collectionId}/images${filter ? `?status=${filter}` : ""}`, PageSize, cursors[shownPage])),
  ]);
  // A refresh still under way when the person turned the page (or picked another collection) answers too late.
  if (collectionId !== state.current || shownPage !== page || filter !== $("image-filter").value) return;
  summary = described;
  images = listed.items;
  cursors[shownPage + 1] = listed.nextCursor;
  $("collection-name").textContent = summary.name;
  $("collection-counts").textContent = `${summary.images} images, ${summary.labels} labels`;
  renderGrid();
  // Pending images become ready or rejected on their own: look again while some on this page are waiting.
  clearTimeout(refreshTimer);
  if (images.some((image) => image.status === "pending") && !$("view-collections").hidden) {
    refreshTimer = setTimeout(() => guarded(loadImages), 1500);
  }
}

function renderGrid() {
  const collectionId = state.current;
  $("image-grid").replaceChildren(...images.map((image) => h("li", { class: "card", "data-status": image.status },
    lazyImage(thumbnail(collectionId, image.imageId), image.fileName),
    h("span", { class: "name", title: image.fileName }, image.fileName),
    h("span", {}, h("span", { class: `badge ${image.status}` }, image.status),
      image.width ? h("span", { class: "score" }, ` ${image.width}×${image.height}`) : null),
    image.reason ? h("span", { class: "reason" }, image.reason) : null)));
  if (images.length === 0 && page === 0) $("image-grid").append(h("li", { class: "hint" }, "No images yet: upload some above."));
  // Without a filter the summary's count gives the number of pages; with one, only whether a next page exists.
  const pages = $("image-filter").value ? null : Math.max(1, Math.ceil(summary.images / PageSize));
  renderPager($("image-pager"), page, pages, (next) => { page = next; guarded(loadImages); }, Boolean(cursors[page + 1]));
}

/** Every file of a drop, folders walked (entries API), so a dropped folder uploads whole. */
async function droppedFiles(transfer) {
  const entries = [...transfer.items].map((item) => item.webkitGetAsEntry?.()).filter(Boolean);
  if (entries.length === 0) return [...transfer.files];
  const files = [];
  const walk = async (entry, prefix) => {
    if (entry.isFile) {
      files.push(await new Promise((resolve, reject) => entry.file(resolve, reject)));
      return;
    }
    const reader = entry.createReader();
    for (;;) {
      const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
      if (batch.length === 0) break;
      for (const child of batch) await walk(child, `${prefix}${entry.name}/`);
    }
  };
  for (const entry of entries) await walk(entry, "");
  return files;
}

/** Uploads files one request each (three at a time), each with its own progress bar and outcome. */
async function uploadAll(files, input) {
  const collectionId = state.current;
  if (!collectionId || files.length === 0) return;
  showError(null);
  const rows = files.map((file) => {
    const bar = h("progress", { max: "100", value: "0", "aria-label": `Upload of ${file.name}` });
    const outcome = h("span", { class: "outcome" }, "waiting");
    const row = h("li", { "data-file": file.name }, h("span", { class: "name", title: file.name }, file.name), bar, outcome);
    return { file, bar, outcome, row };
  });
  $("upload-list").replaceChildren(...rows.map((r) => r.row));
  const queue = [...rows];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      next.outcome.textContent = "uploading";
      try {
        const report = await upload(collectionId, next.file, (fraction) => { next.bar.value = Math.round(fraction * 100); });
        next.outcome.textContent = describe(report);
        next.row.dataset.outcome = report.refused.length > 0 && report.accepted.length === 0 ? "refused" : "done";
      } catch (error) {
        next.outcome.textContent = `failed: ${error.message}`;
        next.row.dataset.outcome = "failed";
      }
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  if (input) input.value = "";
  await guarded(loadImages);
}

/** Registers the images already in a bucket (POST /collections/{id}/imports) and follows the import to its end. */
async function importFromBucket() {
  const collectionId = state.current;
  const started = await api(`/collections/${collectionId}/imports`, {
    method: "POST", json: { bucket: $("import-bucket").value.trim(), prefix: $("import-prefix").value.trim() },
  });
  for (;;) {
    const run = await api(`/collections/${collectionId}/imports/${started.importId}`);
    $("import-status").textContent = `Import ${run.state}: ${run.listed} objects listed, ${run.registered} new images, ` +
      `${run.duplicates} already there, ${run.skipped} skipped` + (run.reason ? ` — ${run.reason}` : "") +
      (run.skippedObjects.length ? ` (first skipped: ${run.skippedObjects[0].key}: ${run.skippedObjects[0].reason})` : "");
    $("import-status").dataset.state = run.state;
    if (run.state !== "running" || collectionId !== state.current) break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  await loadImages();
}

function describe(report) {
  const parts = [];
  if (report.accepted.length) parts.push(`${report.accepted.length} accepted`);
  if (report.duplicates.length) parts.push(`${report.duplicates.length} already there`);
  for (const refused of report.refused) parts.push(`refused ${refused.fileName}: ${refused.reason}`);
  return parts.join("; ") || "nothing in it";
}
