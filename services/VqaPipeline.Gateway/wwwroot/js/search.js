// Search: a question and an answer, the collection's images ranked by score; a question never asked runs its job first.
import { api, thumbnail } from "./api.js";
import { $, formatScore, guarded, h, lazyImage } from "./dom.js";
import { describeJob, followJob, setProgress } from "./jobs.js";
import { rememberFileName } from "./labels.js";

let searching = 0;

export function init() {
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(search);
  });
}

async function search() {
  const mine = ++searching;
  const collectionId = $("search-collection").value;
  const query = new URLSearchParams({
    question: $("search-question").value.trim(), answer: $("search-answer").value.trim(), collection: collectionId,
    minScore: $("search-min-score").value || "0", limit: "100",
  });
  $("search-grid").replaceChildren();
  $("search-summary").textContent = "Searching…";
  $("search-job").hidden = true;
  let askedBy = null;
  // A 202 means the question was never asked: follow the job it started, then ask again for the whole ranking.
  for (;;) {
    const { status, body } = await api(`/search?${query}`, { withStatus: true });
    if (mine !== searching) return;
    if (status !== 202) {
      render(collectionId, body, askedBy);
      return;
    }
    $("search-job").hidden = false;
    askedBy = body.jobId;
    $("search-job-status").textContent = `This question was never asked of the collection: job ${body.jobId} is answering it…`;
    await followJob(body.jobId, (job) => {
      setProgress($("search-job-progress"), job);
      $("search-job-status").textContent = `This question was never asked of the collection: job ${job.id} — ${describeJob(job)}`;
    }, () => mine === searching);
    if (mine !== searching) return;
  }
}

function render(collectionId, body, askedBy) {
  $("search-job").hidden = true;
  const results = body.results ?? [];
  $("search-summary").textContent = results.length === 0
    ? `No image answers "${body.answer}" to "${body.question}".`
    : `${results.length} images answer "${body.answer}" to "${body.question}", best first (model ${body.modelVersion}).` +
      (askedBy ? ` The question was asked of the collection first by job ${askedBy}.` : "");
  $("search-grid").replaceChildren(...results.map((result, index) => {
    rememberFileName(result.imageId, result.fileName);
    return h("li", { class: "card", "data-image": result.imageId },
      lazyImage(thumbnail(collectionId, result.imageId), result.fileName),
      h("span", {}, h("span", { class: "rank" }, `#${index + 1} `), h("span", { class: "score" }, `score ${formatScore(result.score)}`)),
      h("span", { class: "name", title: result.fileName }, result.fileName));
  }));
}
