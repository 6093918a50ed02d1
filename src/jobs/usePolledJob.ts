import { useCallback, useEffect, useState } from 'react';

import type { IJob, MlplatApi } from '../api';
import { isFinal } from '../format';
import { fallbackPoll, type IJobChange, type JobFeed } from './feed';

export interface IPolledJob {
  job: IJob | null;
  error: string | null;
  /** Replace the job by one the server just answered (cancel, for example). */
  update: (job: IJob) => void;
}

/**
 * A job, read again as soon as the server pushes a change of it (its new
 * state shows at once), and polled every `interval` ms while the feed is
 * silent, until it reaches a final state.
 */
export function usePolledJob(
  api: MlplatApi,
  id: string,
  interval: number,
  feed: JobFeed | null = null
): IPolledJob {
  const [job, setJob] = useState<IJob | null>(null);
  const [error, setError] = useState<string | null>(null);
  const final = job !== null && isFinal(job.state);

  useEffect(() => {
    if (final) {
      return;
    }
    let live = true;
    const poll = fallbackPoll({
      factory: async () => {
        try {
          const next = await api.getJob(id);
          if (live) {
            setJob(next);
            setError(null);
          }
        } catch (err) {
          if (live) {
            setError((err as Error).message);
          }
          throw err;
        }
      },
      interval,
      feed,
      name: `jupyter-mlplat:job-${id}`
    });
    const onChange = (_: JobFeed, change: IJobChange) => {
      if (
        change.job_id !== id ||
        (change.kind !== 'state' && change.kind !== 'event')
      ) {
        return;
      }
      const state = change.state;
      // A final state comes with the job read again (its end time, its error).
      if (state && !isFinal(state)) {
        setJob(previous =>
          previous && previous.state !== state
            ? { ...previous, state }
            : previous
        );
      }
      void poll.refresh();
    };
    feed?.changed.connect(onChange);
    return () => {
      live = false;
      feed?.changed.disconnect(onChange);
      poll.dispose();
    };
  }, [api, id, interval, feed, final]);

  const update = useCallback((next: IJob) => setJob(next), []);
  return { job, error, update };
}
