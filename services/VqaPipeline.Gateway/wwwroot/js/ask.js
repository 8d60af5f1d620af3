// Ask: submit a question job, follow it, and browse its answers as a grid; click an answer to correct it.
import { api, apiAll, download, jsonLines, thumbnail } from "./api.js";
import { $, formatScore, guarded, h, lazyImage, renderPager, showError } from "./dom.js";
import { describeJob, followJob, setProgress } from "./jobs.js";
import { correct, rememberFileName } from "./labels.js";

const PageSize = 24;
const Bundled = "vilt-shapes";
const Other = "__other";
let job = null;
let results = []; // [{ imageId, fileName, answers: Map<question, [{rank, answer, score}]> }]
let page = 0;
let following = 0;

export function init() {
  $("ask-model").addEventListener("change", () => { $("ask-model-other-field").hidden = $("ask-model").value !== Other; });
  $("ask-form").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(submit);
  });
  $("job-cancel").addEventListener("click", () => guarded(async () => {
    await api(`/jobs/${job.id}/cancel`, { method: "POST" });
  }));
  $("export-csv").addEventListener("click", () => guarded(() => download(`/jobs/${job.id}/answers?format=csv`, `answers-${job.id}.csv`)));
  $("export-jsonl").addEventListener("click", () => guarded(() => download(`/jobs/${job.id}/answers?format=jsonl`, `answers-${job.id}.jsonl`)));
  for (const id of ["results-question", "results-answer", "results-sort"]) {
    $(id).addEventListener("change", () => {
      page = 0;
      if (id === "results-question") fillAnswerFilter();
      renderResults();
    });
  }
}

export function shown() {
  guarded(loadModels);
}

async function loadModels() {
  const select = $("ask-model");
  const keep = select.value;
  const stored = await apiAll("/models");
  select.replaceChildren(
    h("option", { value: "" }, "the service's default model"),
    h("option", { value: Bundled }, `${Bundled} (bundled)`),
    ...stored.map((model) => h("option", { value: model.model }, `${model.model} (trained on ${model.trainingExamples} labels)`)),
    h("option", { value: Other }, "another model (Hub id, generative)…"));
  select.value = [...select.options].some((o) => o.value === keep) ? keep : "";
}

async function submit() {
  const questions = $("ask-questions").value.split("\n").map((q) => q.trim()).filter((q) => q.length > 0);
  if (questions.length === 0) {
    showError("Type at least one question.");
    return;
  }
  const chosen = $("ask-model").value === Other ? $("ask-model-other").value.trim() : $("ask-model").value;
  const body = { collectionId: $("ask-collection").value, questions, topK: Number($("ask-topk").value) || undefined };
  if (chosen) body.model = chosen;
  const accepted = await api("/jobs", { method: "POST", json: body });
  await follow(accepted.id);
}

async function follow(jobId) {
  const mine = ++following;
  job = { id: jobId };
  results = [];
  $("job").hidden = false;
  $("results").hidden = true;
  $("image-answers").hidden = true;
  $("job-id").textContent = jobId;
  $("export-csv").disabled = $("export-jsonl").disabled = true;
  $("job-cancel").disabled = false;
  const ended = await followJob(jobId, (current) => {
    job = current;
    setProgress($("job-progress"), current);
    $("job-status").textContent = describeJob(current);
    $("job-progress").dataset.status = current.status;
  }, () => mine === following);
  if (!ended) return;
  $("job-cancel").disabled = true;
  $("export-csv").disabled = $("export-jsonl").disabled = false;
  await loadResults(ended);
}

async function loadResults(ended) {
  const rows = await jsonLines(`/jobs/${ended.id}/answers?format=jsonl`);
  const byImage = new Map();
  for (const row of rows) {
    if (!byImage.has(row.imageId)) byImage.set(row.imageId, { imageId: row.imageId, fileName: row.fileName, order: byImage.size, answers: new Map() });
    const image = byImage.get(row.imageId);
    if (!image.answers.has(row.question)) image.answers.set(row.question, []);
    image.answers.get(row.question).push({ rank: row.rank, answer: row.answer, score: row.score });
    rememberFileName(row.imageId, row.fileName);
  }
  for (const image of byImage.values()) for (const list of image.answers.values()) list.sort((a, b) => a.rank - b.rank);
  results = [...byImage.values()];
  $("results-question").replaceChildren(...ended.questions.map((q) => h("option", { value: q }, q)));
  fillAnswerFilter();
  $("results").hidden = false;
  page = 0;
  renderResults();
}

const topOf = (image, question) => image.answers.get(question)?.[0];

function fillAnswerFilter() {
  const question = $("results-question").value;
  const counts = new Map();
  for (const image of results) {
    const top = topOf(image, question);
    if (top) counts.set(top.answer, (counts.get(top.answer) ?? 0) + 1);
  }
  $("results-answer").replaceChildren(h("option", { value: "" }, "any answer"),
    ...[...counts].sort((a, b) => b[1] - a[1]).map(([answer, count]) => h("option", { value: answer }, `${answer} (${count})`)));
}

function renderResults() {
  const question = $("results-question").value;
  const wanted = $("results-answer").value;
  const order = $("results-sort").value;
  let shown = results.filter((image) => topOf(image, question) && (!wanted || topOf(image, question).answer === wanted));
  if (order !== "upload") {
    const sign = order === "score-desc" ? -1 : 1;
    shown = [...shown].sort((a, b) => sign * (topOf(a, question).score - topOf(b, question).score));
  }
  $("results-count").textContent = `${shown.length} of ${results.length} images`;
  const pages = Math.max(1, Math.ceil(shown.length / PageSize));
  page = Math.min(page, pages - 1);
  const collectionId = job.collectionId;
  $("results-grid").replaceChildren(...shown.slice(page * PageSize, (page + 1) * PageSize).map((image) => {
    const top = topOf(image, question);
    const card = h("li", { class: "card", "data-image": image.imageId });
    card.append(
      h("button", { type: "button", class: "link", "aria-label": `Every answer for ${image.fileName}`, onclick: () => showImage(image) },
        lazyImage(thumbnail(collectionId, image.imageId), image.fileName)),
      h("span", { class: "name", title: image.fileName }, image.fileName),
      answerButton(collectionId, image, question, top),
      h("span", { class: "score" }, `score ${formatScore(top.score)}`));
    return card;
  }));
  renderPager($("results-pager"), page, pages, (next) => { page = next; renderResults(); });
}

/** The answer as a button: clicking it opens a small form to replace it with the right one (a label). */
function answerButton(collectionId, image, question, top) {
  const holder = h("span", { class: "answer" });
  const button = h("button", { type: "button", class: "link answer-button", title: "Click to correct this answer",
    "aria-label": `Answer ${top.answer} for ${image.fileName}: correct it`, onclick: () => open() }, top.answer);
  holder.append(button);
  const open = () => {
    const input = h("input", { "aria-label": `Right answer for ${image.fileName}`, value: top.answer, required: true, maxlength: "200" });
    const form = h("form", { class: "correct-form" }, input,
      h("button", { type: "submit" }, "Save"),
      h("button", { type: "button", class: "secondary", onclick: () => holder.replaceChildren(button) }, "Cancel"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const answer = input.value.trim();
      if (!answer) return;
      guarded(async () => {
        await correct(collectionId, image.imageId, question, answer);
        holder.replaceChildren(h("span", { class: "corrected" }, `corrected: ${answer}`));
      });
    });
    holder.replaceChildren(form);
    input.focus();
    input.select();
  };
  return holder;
}

/** Every question's ranked answers for one image. */
function showImage(image) {
  $("image-answers").hidden = false;
  $("image-answers-title").textContent = `Answers for ${image.fileName}`;
  $("image-answers-table").replaceChildren(
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Question"), h("th", { scope: "col" }, "Rank"),
      h("th", { scope: "col" }, "Answer"), h("th", { scope: "col" }, "Score"))),
    h("tbody", {}, [...image.answers].flatMap(([question, answers]) => answers.map((answer) => h("tr", {},
      h("td", {}, question), h("td", { class: "number" }, String(answer.rank)), h("td", {}, answer.answer),
      h("td", { class: "number" }, formatScore(answer.score)))))));
  $("image-answers").scrollIntoView({ block: "nearest" });
}
