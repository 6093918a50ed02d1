/**
 * Small React hooks shared by the views.
 */
import { useEffect, useState } from 'react';
import type { ISignal } from '@lumino/signaling';

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
