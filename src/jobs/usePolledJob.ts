import { useCallback, useEffect, useState } from 'react';

import type { IJob, MlplatApi } from '../api';
import { isFinal } from '../format';

export interface IPolledJob {
  job: IJob | null;
  error: string | null;
  /** Replace the job by one the server just answered (cancel, for example). */
  update: (job: IJob) => void;
}

/**
 * A job fetched every `interval` ms until it reaches a final state.
 */
export function usePolledJob(
  api: MlplatApi,
  id: string,
  interval: number
): IPolledJob {
  const [job, setJob] = useState<IJob | null>(null);
  const [error, setError] = useState<string | null>(null);
  const final = job !== null && isFinal(job.state);

  useEffect(() => {
    if (final) {
      return;
    }
    let timer = 0;
    let live = true;
    const tick = async () => {
      try {
        const next = await api.getJob(id);
        if (!live) {
          return;
        }
        setJob(next);
        setError(null);
        if (isFinal(next.state)) {
          return;
        }
      } catch (err) {
        if (!live) {
          return;
        }
        setError((err as Error).message);
      }
      timer = window.setTimeout(tick, interval);
    };
    void tick();
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [api, id, interval, final]);

  const update = useCallback((next: IJob) => setJob(next), []);
  return { job, error, update };
}
