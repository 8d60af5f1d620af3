// Sign-in, the session's identity and switching between the page's sections.
import { clearSession, saveSession, session, whenUnauthorized, whoIs } from "./api.js";
import { $, guarded, showError } from "./dom.js";
import { loadCollections } from "./state.js";
import * as collections from "./collections.js";
import * as ask from "./ask.js";
import * as search from "./search.js";
import * as labels from "./labels.js";
import * as training from "./training.js";
import * as admin from "./admin.js";

const views = { collections, ask, search, labels, training, admin };
const Roles = ["viewer", "member", "trainer", "admin"];

function show(name) {
  for (const section of document.querySelectorAll("main > section")) section.hidden = section.id !== `view-${name}`;
  for (const button of document.querySelectorAll("#nav button")) {
    if (button.dataset.view === name) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  views[name]?.shown?.();
}

function signedOut(message) {
  clearSession();
  $("nav").hidden = true;
  $("who").hidden = true;
  show("signin");
  const line = $("signin-error");
  line.textContent = message ?? "";
  line.hidden = !message;
  $("api-key").value = "";
  $("api-key").focus();
}

async function signedIn(current) {
  $("who-text").textContent = `${current.team} · ${current.role}`;
  $("who").hidden = false;
  $("nav").hidden = false;
  $("signin-error").hidden = true;
  $("nav-admin").hidden = Roles.indexOf(current.role) < Roles.indexOf("admin");
  show("collections");
  await guarded(loadCollections);
}

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const key = $("api-key").value.trim();
  try {
    const me = await whoIs(key);
    saveSession({ key, team: me.team, teamId: me.teamId, role: me.role, keyPrefix: me.keyPrefix });
    $("api-key").value = "";
    await signedIn(session());
  } catch (error) {
    signedOut(`Sign-in failed: ${error.message}`);
  }
});

$("sign-out").addEventListener("click", () => signedOut("Signed out."));
whenUnauthorized((message) => signedOut(`Your key was refused: ${message}. Sign in again.`));
$("nav").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-view]");
  if (button) show(button.dataset.view);
});
window.addEventListener("error", () => showError("Something went wrong in the page; reload it to start again."));
window.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  showError(event.reason?.message ?? "Something went wrong in the page.");
});

for (const view of Object.values(views)) view.init?.();
const current = session();
if (current?.key) signedIn(current);
else signedOut(null);
