// Replay (admins): count the messages of a type over a time range (dry run), then republish them.
import { api } from "./api.js";
import { $, guarded } from "./dom.js";

let lastOrder = null;

function order(dryRun) {
  const body = { type: $("replay-type").value, dryRun };
  if ($("replay-from").value) body.from = new Date($("replay-from").value).toISOString();
  if ($("replay-to").value) body.to = new Date($("replay-to").value).toISOString();
  if ($("replay-collection").value) body.collection = $("replay-collection").value;
  return body;
}

export function init() {
  $("replay-form").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(async () => {
      lastOrder = order(true);
      const answer = await api("/admin/replay", { method: "POST", json: lastOrder });
      $("replay-result").textContent = `${answer.matched} ${lastOrder.type} messages match.`;
      $("replay-run").disabled = answer.matched === 0;
    });
  });
  for (const id of ["replay-type", "replay-from", "replay-to", "replay-collection"])
    $(id).addEventListener("change", () => { $("replay-run").disabled = true; });
  $("replay-run").addEventListener("click", () => guarded(async () => {
    const answer = await api("/admin/replay", { method: "POST", json: { ...lastOrder, dryRun: false } });
    $("replay-result").textContent = `${answer.republished} of ${answer.matched} ${lastOrder.type} messages republished.`;
    $("replay-run").disabled = true;
  }));
}
