import React, { useEffect, useLayoutEffect, useRef, useState } from 'react';

import type { MlplatApi } from '../api';

export interface ILogViewProps {
  api: MlplatApi;
  jobId: string;
  replicas: string[];
  /** Whether the job can still write (keep following after `complete`). */
  live: boolean;
  interval: number;
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

/**
 * Poll `jobs/{id}/logs?offset=N`, appending each chunk, until the log is
 * complete and the job is no longer live.
 */
function useFollowedLog(
  props: ILogViewProps,
  replica: string
): { text: string; error: string | null } {
  const { api, jobId, live, interval } = props;
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
    let active = true;
    let timer = 0;
    const tick = async () => {
      try {
        while (active) {
          const chunk = await api.getLogs(
            jobId,
            offset.current,
            replica || undefined
          );
          if (!active) {
            return;
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
      }
      if (active && !done.current) {
        timer = window.setTimeout(tick, interval);
      }
    };
    void tick();
    return () => {
      active = false;
      window.clearTimeout(timer);
    };
  }, [api, jobId, replica, live, interval]);

  return { text, error };
}
