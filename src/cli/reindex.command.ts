// `reindex`: starts a reindex job and, with --wait, follows it to the end.
import { CommandFailed } from './export.command';
import { ApiClient, field, messageOf, sleep } from './http';
import { createProgress } from './progress';

export interface JobStatus {
  state: string;
  processed?: number;
  total?: number;
  itemsPerSecond?: number;
  etaSeconds?: number;
  errors?: unknown;
}

const DONE = new Set(['completed', 'failed', 'cancelled']);

export async function runReindex(
  client: ApiClient,
  catalogue: string,
  opts: { model?: string; textTemplate?: string; wait: boolean; progress: boolean; intervalMs?: number },
  log: (line: string) => void,
): Promise<JobStatus | { jobId: string }> {
  const r = await client.request('POST', `/v1/catalogues/${catalogue}/reindex`, {
    ...(opts.model ? { model: opts.model } : {}),
    ...(opts.textTemplate ? { textTemplate: opts.textTemplate } : {}),
  });
  if (r.status === 404) {
    throw new CommandFailed(
      `reindex answered 404: ${messageOf(r.body) || 'not found'} (either catalogue '${catalogue}' does not exist or this server has no reindex endpoint yet)`,
    );
  }
  if (r.status !== 202 && r.status !== 200) {
    throw new CommandFailed(`reindex answered ${r.status}: ${messageOf(r.body)}`);
  }
  const id = field(r.body, 'jobId');
  const jobId = typeof id === 'string' || typeof id === 'number' ? String(id) : '';
  if (!jobId) throw new CommandFailed(`reindex answered ${r.status} without a jobId`);
  log(`reindex job ${jobId} started`);
  if (!opts.wait) return { jobId };

  const progress = createProgress(opts.progress, 1);
  let status: JobStatus;
  try {
    for (;;) {
      const j = await client.request('GET', `/v1/jobs/${encodeURIComponent(jobId)}`);
      if (j.status === 404) {
        throw new CommandFailed(
          `job ${jobId} not found (GET /v1/jobs/${jobId} answered 404: ${messageOf(j.body)})`,
        );
      }
      if (j.status !== 200) throw new CommandFailed(`job status answered ${j.status}: ${messageOf(j.body)}`);
      status = j.body as JobStatus;
      if (status.total) progress.setTotal(status.total);
      progress.update(status.processed ?? 0, status.processed ?? 0);
      if (DONE.has(status.state)) break;
      await sleep(opts.intervalMs ?? 1000);
    }
  } finally {
    progress.stop();
  }
  const errors = Array.isArray(status.errors) ? status.errors.length : Number(status.errors ?? 0);
  log(
    `job ${jobId} ${status.state}: processed ${status.processed ?? 0} of ${status.total ?? '?'}, errors ${errors}`,
  );
  if (status.state !== 'completed') throw new CommandFailed(`job ${jobId} ended ${status.state}`);
  return status;
}
