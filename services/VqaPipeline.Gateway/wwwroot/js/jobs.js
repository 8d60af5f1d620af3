// Following a question job (GET /jobs/{id}) until it ends, for Ask and for a search that started one.
import { api } from "./api.js";
import { formatSeconds } from "./dom.js";

export const Ended = ["completed", "failed", "cancelled"];

/** One line a person reads about a job's state. */
export function describeJob(job) {
  const finished = job.done + job.failed;
  const parts = [`${job.status}`, `${finished} of ${job.total} images`];
  if (job.failed > 0) parts.push(`${job.failed} could not be answered`);
  if (job.status === "running") parts.push(`about ${formatSeconds(job.etaSeconds)} left`);
  if (job.failureReason) parts.push(job.failureReason);
  return parts.join(" · ");
}

/** Polls the job every `intervalMs`, reporting each state to `onState` (bar, text), until it ends; returns the last. */
export async function followJob(jobId, onState, isCurrent = () => true, intervalMs = 750) {
  for (;;) {
    const job = await api(`/jobs/${jobId}`);
    if (!isCurrent()) return null;
    onState(job);
    if (Ended.includes(job.status)) return job;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Sets a <progress> from a job: the share of images finished. */
export function setProgress(bar, job) {
  bar.value = job.total > 0 ? Math.round(((job.done + job.failed) / job.total) * 100) : (job.status === "completed" ? 100 : 0);
}
