/**
 * Diff-update of the job list: a new page from the server keeps the objects
 * of the jobs that did not change, so unchanged rows do not re-render, and
 * the same array comes back when nothing changed at all.
 */
import { JSONExt, type ReadonlyJSONValue } from '@lumino/coreutils';

import type { IJob } from '../api';

export function mergeJobs(
  previous: readonly IJob[],
  next: readonly IJob[]
): readonly IJob[] {
  const known = new Map(previous.map(job => [job.id, job]));
  let changed = previous.length !== next.length;
  const merged = next.map((job, index) => {
    const old = known.get(job.id);
    if (old && sameJob(old, job)) {
      changed = changed || previous[index] !== old;
      return old;
    }
    changed = true;
    return job;
  });
  return changed ? merged : previous;
}

function sameJob(a: IJob, b: IJob): boolean {
  return JSONExt.deepEqual(
    a as unknown as ReadonlyJSONValue,
    b as unknown as ReadonlyJSONValue
  );
}
