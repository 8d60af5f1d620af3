// The one way the page talks to the API: every call carries the signed-in key; every error becomes one sentence.

const SessionKey = "vqa.session";

/** The signed-in session ({ key, team, role, keyPrefix }) of this tab, or null. */
export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(SessionKey) ?? "null");
  } catch {
    return null;
  }
}

export function saveSession(value) {
  sessionStorage.setItem(SessionKey, JSON.stringify(value));
}

export function clearSession() {
  sessionStorage.removeItem(SessionKey);
  forgetThumbnails();
}

/** An API answer that was not a success, with the sentence to show. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Problem details (RFC 7807) and the older {"error"} shape both give their human sentence. */
export function messageOf(body, status) {
  if (body && typeof body === "object") {
    const sentence = body.detail ?? body.error ?? body.title;
    if (typeof sentence === "string" && sentence.length > 0) return sentence;
  }
  return status === 0 ? "the server could not be reached" : `the server answered ${status}`;
}

async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's page): the status says enough; the body is never shown.
  }
  return new ApiError(response.status, messageOf(body, response.status));
}

function headers(extra = {}) {
  const current = session();
  return current ? { ...extra, Authorization: `Bearer ${current.key}` } : extra;
}

/** Called when a key stops working (401): the page goes back to sign-in with the reason. */
let onUnauthorized = () => {};
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

async function send(path, options = {}, key = undefined) {
  const init = { method: options.method ?? "GET", headers: headers(options.json === undefined ? {} : { "Content-Type": "application/json" }) };
  if (key !== undefined) init.headers.Authorization = `Bearer ${key}`;
  if (options.json !== undefined) init.body = JSON.stringify(options.json);
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, messageOf(null, 0));
  }
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401 && key === undefined) onUnauthorized(error.message);
    throw error;
  }
  return response;
}

/** JSON of a call; `status` is kept for the callers that branch on 200 versus 202. */
export async function api(path, options = {}) {
  const response = await send(path, options);
  const text = await response.text();
  const body = text.length > 0 ? JSON.parse(text) : null;
  return options.withStatus ? { status: response.status, body } : body;
}

/**
 * Every item of a list route ({items, nextCursor}): follows nextCursor page by page (1,000 items a page) to the end.
 * For lists a person reads whole (collections, models, labels of a collection); the image grid pages instead.
 */
export async function apiAll(path) {
  const items = [];
  let cursor = null;
  do {
    const page = await api(withPage(path, 1000, cursor));
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

/** <path> with ?limit= and, after the first page, ?cursor= added to what its query already has. */
export function withPage(path, limit, cursor) {
  const separator = path.includes("?") ? "&" : "?";
  return `${path}${separator}limit=${limit}` + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : "");
}

/** Who a key belongs to (GET /me), without touching the stored session. */
export async function whoIs(key) {
  const response = await send("/me", {}, key);
  return response.json();
}

/** The raw bytes of a call (thumbnails, exports). */
export async function blob(path) {
  return (await send(path)).blob();
}

/** Text lines of a call (JSON lines exports), parsed. */
export async function jsonLines(path) {
  const text = await (await send(path)).text();
  return text.split("\n").filter((line) => line.trim().length > 0).map((line) => JSON.parse(line));
}

/**
 * Uploads one file to a collection with XMLHttpRequest, the one browser API that reports upload progress.
 * Resolves with the ingest report ({accepted, duplicates, refused}).
 */
export function upload(collectionId, file, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", `/collections/${encodeURIComponent(collectionId)}/images`);
    for (const [name, value] of Object.entries(headers())) request.setRequestHeader(name, value);
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    request.addEventListener("load", () => {
      let body = null;
      try {
        body = JSON.parse(request.responseText);
      } catch {
        // fall through: the status speaks
      }
      if (request.status >= 200 && request.status < 300) {
        onProgress(1);
        resolve(body);
        return;
      }
      const message = messageOf(body, request.status);
      if (request.status === 401) onUnauthorized(message);
      reject(new ApiError(request.status, message));
    });
    request.addEventListener("error", () => reject(new ApiError(0, messageOf(null, 0))));
    const form = new FormData();
    form.append("files", file, file.webkitRelativePath || file.name);
    request.send(form);
  });
}

const thumbnails = new Map();

/** An object URL of an image's original (fetched with the key; an <img src> could not send it), cached per image. */
export function thumbnail(collectionId, imageId) {
  if (!thumbnails.has(imageId)) {
    const pending = blob(`/collections/${collectionId}/images/${imageId}/content`).then((bytes) => URL.createObjectURL(bytes));
    pending.catch(() => thumbnails.delete(imageId));
    thumbnails.set(imageId, pending);
  }
  return thumbnails.get(imageId);
}

/** Drops every cached thumbnail (on sign-out: the next person's key may not see those images). */
function forgetThumbnails() {
  for (const pending of thumbnails.values()) pending.then((url) => URL.revokeObjectURL(url), () => {});
  thumbnails.clear();
}

/** Saves a download the API made (fetched with the key) under `fileName`. */
export async function download(path, fileName) {
  const url = URL.createObjectURL(await blob(path));
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
