import React from 'react';

import type { IJob } from '../api';
import { elapsedMs, formatDuration, formatTime, isFinal } from '../format';
import { StateChip } from './StateChip';

export interface IJobRowProps {
  job: IJob;
  selected: boolean;
  /** The current time for a job still going, 0 for a final one. */
  now: number;
  onOpen: (id: string) => void;
}

/**
 * One job in the sidebar list; re-renders only when its job, selection or
 * (for a live job) the clock changes.
 */
export const JobRow = React.memo(function JobRow(
  props: IJobRowProps
): JSX.Element {
  const { job } = props;
  const elapsed = elapsedMs(job, props.now);
  const when =
    elapsed === null ? formatTime(job.created) : formatDuration(elapsed);
  return (
    <li
      className={`jp-mlplat-job${props.selected ? ' jp-mod-selected' : ''}`}
      data-job-id={job.id}
      data-state={job.state}
      tabIndex={0}
      role="option"
      aria-selected={props.selected}
      title={`${job.name} — ${job.state}${job.error ? `: ${job.error}` : ''}`}
      onClick={() => props.onOpen(job.id)}
      onKeyDown={event => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          props.onOpen(job.id);
        }
      }}
    >
      <div className="jp-mlplat-job-line">
        <span className="jp-mlplat-job-name">{job.name}</span>
        <StateChip state={job.state} />
      </div>
      <div className="jp-mlplat-job-meta">
        <span>{job.spec.target}</span>
        <span
          className={isFinal(job.state) ? '' : 'jp-mlplat-live'}
          title={elapsed === null ? 'Created' : 'Elapsed'}
        >
          {when}
        </span>
      </div>
    </li>
  );
});
