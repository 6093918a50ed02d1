import React from 'react';
import { deleteIcon } from '@jupyterlab/ui-components';

import type { IJob } from '../api';
import { elapsedMs, formatDuration, isFinal } from '../format';
import {
  exactTime,
  failureReason,
  relativeTime,
  shortId,
  type Trigger
} from './listing';
import { StateChip } from './StateChip';

export interface IJobRowProps {
  job: IJob;
  selected: boolean;
  /** The current time: each second for a job still going, each minute else. */
  now: number;
  /** `name=value` of the parameters that differ from the notebook's defaults. */
  changed: string;
  trigger: Trigger;
  onOpen: (id: string) => void;
  onDelete: (job: IJob) => void;
}

/**
 * One job in the sidebar list: name and short id, state and trigger, when it
 * started, the parameters that differ from the notebook's and why it failed.
 * Re-renders only when its job, selection or (for a live job) the clock
 * changes.
 */
export const JobRow = React.memo(function JobRow(
  props: IJobRowProps
): JSX.Element {
  const { job } = props;
  const elapsed = elapsedMs(job, props.now);
  const start = job.started ?? job.created;
  const reason = job.state === 'failed' ? failureReason(job.error) : '';
  return (
    <li
      className={`jp-mlplat-job${props.selected ? ' jp-mod-selected' : ''}`}
      data-job-id={job.id}
      data-state={job.state}
      data-trigger={props.trigger}
      tabIndex={0}
      role="option"
      aria-selected={props.selected}
      onClick={() => props.onOpen(job.id)}
      onKeyDown={event => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          props.onOpen(job.id);
        } else if (event.key === 'Delete') {
          event.preventDefault();
          props.onDelete(job);
        }
      }}
    >
      <div className="jp-mlplat-job-line">
        <span className="jp-mlplat-job-name" title={job.spec.notebook ?? ''}>
          {job.name}
        </span>
        <span className="jp-mlplat-job-id" title={job.id}>
          {shortId(job.id)}
        </span>
        <span className="jp-mlplat-spacer" />
        {props.trigger !== 'manual' && (
          <span
            className="jp-mlplat-trigger"
            data-trigger={props.trigger}
            title={`Started by ${props.trigger === 'schedule' ? 'a schedule' : 'a rerun'}`}
          >
            {props.trigger}
          </span>
        )}
        <StateChip state={job.state} />
      </div>
      <div className="jp-mlplat-job-meta">
        <span className="jp-mlplat-job-target">{job.spec.target}</span>
        <span
          className="jp-mlplat-job-start"
          title={`${job.started ? 'Started' : 'Submitted'} ${exactTime(start)}`}
        >
          {relativeTime(start, props.now)}
        </span>
        {elapsed !== null && (
          <span
            className={isFinal(job.state) ? '' : 'jp-mlplat-live'}
            title={isFinal(job.state) ? 'Ran for' : 'Running for'}
          >
            {formatDuration(elapsed)}
          </span>
        )}
        <span className="jp-mlplat-spacer" />
        <button
          className="jp-mlplat-row-action"
          aria-label={`Delete job ${job.id}`}
          title="Delete this job…"
          onClick={event => {
            event.stopPropagation();
            props.onDelete(job);
          }}
        >
          <deleteIcon.react tag="span" height="14px" width="14px" />
        </button>
      </div>
      {props.changed && (
        <div className="jp-mlplat-job-params" title={props.changed}>
          {props.changed}
        </div>
      )}
      {reason && (
        <div className="jp-mlplat-job-error" title={job.error ?? ''}>
          {reason}
        </div>
      )}
    </li>
  );
});
