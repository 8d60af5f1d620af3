// Labels: a person's correction of an answer (POST /collections/{id}/labels) and the team's labels of a collection.
import { api, apiAll } from "./api.js";
import { $, guarded, h } from "./dom.js";
import { onCollectionsChanged, state } from "./state.js";

const fileNames = new Map();

/** Stores `answer` as the right answer of `question` for one image (replacing an earlier label of that pair). */
export async function correct(collectionId, imageId, question, answer) {
  await api(`/collections/${collectionId}/labels`, { method: "POST", json: [{ imageId, question, answers: [answer] }] });
}

/** Remembers an image's file name, so the labels table can name images it saw elsewhere. */
export function rememberFileName(imageId, fileName) {
  fileNames.set(imageId, fileName);
}

export function init() {
  $("labels-refresh").addEventListener("click", () => guarded(load));
  onCollectionsChanged(() => {
    if (!$("view-labels").hidden) guarded(load);
  });
}

export function shown() {
  guarded(load);
}

async function load() {
  const collectionId = state.current;
  const table = $("labels-table");
  if (!collectionId) {
    table.replaceChildren();
    return;
  }
  const [labels, images] = await Promise.all([
    apiAll(`/collections/${collectionId}/labels`),
    apiAll(`/collections/${collectionId}/images`),
  ]);
  for (const image of images) rememberFileName(image.imageId, image.fileName);
  table.replaceChildren(
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Image"), h("th", { scope: "col" }, "Question"),
      h("th", { scope: "col" }, "Answers"), h("th", { scope: "col" }, "Updated"))),
    h("tbody", {}, labels.length === 0
      ? h("tr", {}, h("td", { colspan: "4" }, "No labels yet: correct an answer under Ask."))
      : labels.map((label) => h("tr", {},
        h("td", {}, fileNames.get(label.imageId) ?? label.imageId),
        h("td", {}, label.question),
        h("td", {}, label.answers.join(", ")),
        h("td", {}, new Date(label.updatedAt).toLocaleString())))));
}
