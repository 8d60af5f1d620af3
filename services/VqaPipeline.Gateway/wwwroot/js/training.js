// Training: start a run on a collection's labels, follow its loss, and list the stored model versions.
import { api, apiAll } from "./api.js";
import { $, guarded, h } from "./dom.js";

const Ended = ["completed", "failed", "cancelled"];
let following = 0;

export function init() {
  $("training-form").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(start);
  });
}

export function shown() {
  guarded(loadModels);
}

async function loadModels() {
  const models = await apiAll("/models");
  $("models-table").replaceChildren(
    h("thead", {}, h("tr", {}, ...["Model", "Trained on", "Training run", "Created"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, models.length === 0
      ? h("tr", {}, h("td", { colspan: "4" }, "No model versions yet."))
      : models.map((m) => h("tr", {}, h("td", {}, m.model), h("td", {}, `${m.trainingExamples} examples`),
        h("td", { class: "mono" }, m.trainingRunId ?? ""), h("td", {}, new Date(m.createdAt).toLocaleString())))));
}

async function start() {
  const accepted = await api("/training-runs", {
    method: "POST",
    json: {
      modelName: $("training-name").value.trim(), dataset: { collectionId: $("training-collection").value },
      baseModel: $("training-base").value.trim(), epochs: Number($("training-epochs").value) || undefined,
    },
  });
  const mine = ++following;
  const losses = [];
  $("training-run").hidden = false;
  for (;;) {
    const run = await api(`/training-runs/${accepted.id}`);
    if (mine !== following) return;
    if (typeof run.loss === "number" && run.step !== losses.at(-1)?.step) losses.push({ step: run.step, loss: run.loss });
    $("training-status").textContent = `Run ${run.id}: ${run.status}, step ${run.step ?? 0} of ${run.totalSteps ?? "?"}` +
      (typeof run.loss === "number" ? `, loss ${run.loss.toFixed(4)}` : "") + (run.model ? `, stored as ${run.model}` : "") +
      (run.error ? ` — ${run.error}` : "");
    drawLoss(losses);
    if (Ended.includes(run.status)) break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  await loadModels();
}

/** The loss at each step seen, as a line scaled to the chart. */
function drawLoss(losses) {
  const chart = $("loss-chart");
  if (losses.length === 0) {
    chart.replaceChildren();
    return;
  }
  const steps = losses.map((l) => l.step);
  const values = losses.map((l) => l.loss);
  const [minStep, maxStep] = [Math.min(...steps), Math.max(...steps)];
  const [low, high] = [Math.min(...values), Math.max(...values)];
  const x = (step) => (maxStep === minStep ? 150 : ((step - minStep) / (maxStep - minStep)) * 290 + 5);
  const y = (loss) => (high === low ? 50 : 95 - ((loss - low) / (high - low)) * 90);
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", losses.map((l) => `${x(l.step).toFixed(1)},${y(l.loss).toFixed(1)}`).join(" "));
  chart.replaceChildren(line);
  chart.setAttribute("aria-label", `Training loss from ${values[0].toFixed(4)} to ${values.at(-1).toFixed(4)}`);
}
