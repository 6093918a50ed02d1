/**
 * Small React hooks shared by the views.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ISignal } from '@lumino/signaling';

import { fallbackPoll, type IJobChange, type JobFeed } from './jobs/feed';

/**
 * The current time, ticking every second while `active`.
 */
export function useNow(active: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) {
      return;
    }
    setNow(Date.now());
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, [active]);
  return now;
}

/**
 * Re-render whenever `signal` is emitted.
 */
export function useSignalVersion(signal: ISignal<unknown, unknown>): number {
  const [version, setVersion] = useState(0);
  useEffect(() => {
    const bump = () => setVersion(v => v + 1);
    signal.connect(bump);
    return () => {
      signal.disconnect(bump);
    };
  }, [signal]);
  return version;
}

/**
 * The value of a promise once it settles (undefined until then).
 */
export function usePromise<T>(promise: Promise<T>): T | undefined {
  const [value, setValue] = useState<T>();
  useEffect(() => {
    let live = true;
    void promise.then(v => live && setValue(() => v));
    return () => {
      live = false;
    };
  }, [promise]);
  return value;
}

export interface IPolled<T> {
  /** Undefined until the first answer. */
  data: T | undefined;
  error: string | null;
  /** Fetch now (after an action changed what is shown). */
  refresh: () => void;
}

/**
 * `fetch()` now and every `interval` ms while mounted (sections of the
 * sidebar mount their body only while open), through the views' one polling
 * primitive (backs off on errors, stands by while the tab is hidden); with a
 * `feed`, also as soon as a job's state changes, and rarely while the feed is
 * live.
 */
export function usePolled<T>(
  fetch: () => Promise<T>,
  interval: number,
  feed: JobFeed | null = null
): IPolled<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const fetchRef = useRef(fetch);
  fetchRef.current = fetch;
  useEffect(() => {
    let live = true;
    const poll = fallbackPoll({
      factory: async () => {
        try {
          const next = await fetchRef.current();
          if (live) {
            setData(() => next);
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
      name: 'jupyter-mlplat:section'
    });
    const onChange = (_: JobFeed, change: IJobChange) => {
      if (change.kind === 'state') {
        void poll.refresh();
      }
    };
    feed?.changed.connect(onChange);
    return () => {
      live = false;
      feed?.changed.disconnect(onChange);
      poll.dispose();
    };
  }, [interval, tick, feed]);
  const refresh = useCallback(() => setTick(t => t + 1), []);
  return { data, error, refresh };
}
