import React, { useEffect, useLayoutEffect, useRef, useState } from 'react';

import type { MlplatApi } from '../api';
import { fallbackPoll, type IJobChange, type JobFeed } from './feed';

export interface ILogViewProps {
  api: MlplatApi;
  jobId: string;
  replicas: string[];
  /** Whether the job can still write (keep following after `complete`). */
  live: boolean;
  /** Milliseconds between reads while no change is pushed. */
  interval: number;
  feed?: JobFeed | null;
}

/**
 * The log of a job, followed: new text is appended as it comes, and the view
 * scrolls to the end unless the user scrolled up to read.
 */
export function LogView(props: ILogViewProps): JSX.Element {
  const [replica, setReplica] = useState(props.replicas[0] ?? '');
  const { text, error } = useFollowedLog(props, replica);
  const pre = useRef<HTMLPreElement>(null);
  const stick = useRef(true);

  useLayoutEffect(() => {
    const node = pre.current;
    if (node && stick.current) {
      node.scrollTop = node.scrollHeight;
    }
  }, [text]);

  return (
    <div className="jp-mlplat-logs">
      {props.replicas.length > 0 && (
        <label className="jp-mlplat-field-inline">
          Replica
          <select
            className="jp-mlplat-select"
            value={replica}
            onChange={event => setReplica(event.target.value)}
          >
            {props.replicas.map(name => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
      )}
      {error && (
        <p className="jp-mlplat-error" role="alert">
          {error}
        </p>
      )}
      <pre
        ref={pre}
        className="jp-mlplat-log"
        onScroll={event => {
          const node = event.currentTarget;
          stick.current =
            node.scrollHeight - node.scrollTop - node.clientHeight < 8;
        }}
      >
        {text || (props.live ? 'Waiting for output…' : 'No output.')}
      </pre>
    </div>
  );
}

/** Milliseconds between the reads that keep the server following a cluster job's log. */
const LISTEN_EVERY = 10000;

/**
 * Follow a job's log: text the server pushes is appended as it comes (when it
 * starts where the view stands); `jobs/{id}/logs?offset=N` is read at first,
 * after a gap, at the end, and as the fallback poll while the feed is silent,
 * until the log is complete and the job is no longer live.
 */
function useFollowedLog(
  props: ILogViewProps,
  replica: string
): { text: string; error: string | null } {
  const { api, jobId, live, interval, feed } = props;
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const offset = useRef(0);
  const done = useRef(false);

  useEffect(() => {
    setText('');
    offset.current = 0;
    done.current = false;
  }, [jobId, replica]);

  useEffect(() => {
    if (done.current) {
      return;
    }
    let active = true;
    const read = async () => {
      try {
        while (active) {
          const from = offset.current;
          const chunk = await api.getLogs(jobId, from, replica || undefined);
          if (!active) {
            return;
          }
          if (offset.current !== from) {
            continue; // pushed text came meanwhile: read on from where it ends
          }
          offset.current = chunk.offset;
          if (chunk.text) {
            setText(previous => previous + chunk.text);
          }
          setError(null);
          done.current = chunk.complete && !live;
          if (!chunk.text || chunk.complete) {
            break;
          }
        }
      } catch (err) {
        if (active) {
          setError((err as Error).message);
        }
        throw err;
      }
      if (done.current) {
        // Nothing more will come: stop polling once this read has settled.
        window.setTimeout(() => poll.dispose());
      }
    };
    const poll = fallbackPoll({
      factory: read,
      interval,
      feed: feed ?? null,
      name: `jupyter-mlplat:log-${jobId}`
    });
    const onChange = (_: JobFeed, change: IJobChange) => {
      if (change.job_id !== jobId || change.kind !== 'log' || replica) {
        return;
      }
      if (change.offset === offset.current && change.text) {
        offset.current = change.next_offset ?? offset.current;
        const pushed = change.text;
        setText(previous => previous + pushed);
      } else if ((change.offset ?? 0) > offset.current) {
        void poll.refresh(); // some text was missed: read it
      }
    };
    feed?.changed.connect(onChange);
    // A read every LISTEN_EVERY ms says this view still listens: the server keeps following
    // a cluster job's log stream and pushing its lines (it stops 30 s after the last read).
    const listening = live
      ? window.setInterval(() => void poll.refresh(), LISTEN_EVERY)
      : undefined;
    return () => {
      active = false;
      window.clearInterval(listening);
      feed?.changed.disconnect(onChange);
      poll.dispose();
    };
  }, [api, jobId, replica, live, interval, feed]);

  return { text, error };
}
