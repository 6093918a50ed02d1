import React from 'react';

import type { IJob } from '../api';
import { elapsedMs, formatDuration, formatTime } from '../format';
import { shortId } from './listing';
import { StateChip } from './StateChip';

/**
 * Name, state and the facts of a job.
 */
export function JobHeader(props: {
  job: IJob;
  now: number;
  actions: React.ReactNode;
}): JSX.Element {
  const { job } = props;
  const elapsed = elapsedMs(job, props.now);
  const k8s = job.k8s_object;
  const facts: [string, React.ReactNode][] = [
    ['Target', job.spec.target],
    ['Runtime', job.spec.runtime],
    ['Source', job.spec.notebook ?? 'code'],
    ['User', job.user],
    ['Created', formatTime(job.created)],
    ['Started', formatTime(job.started)],
    ['Finished', formatTime(job.finished)],
    ['Elapsed', elapsed === null ? '—' : formatDuration(elapsed)]
  ];
  if (job.image) {
    facts.push(['Image', <code key="image">{job.image}</code>]);
  }
  if (k8s) {
    facts.push([
      'Kubernetes',
      <code key="k8s">{`${k8s.kind} ${k8s.namespace}/${k8s.name}`}</code>
    ]);
  }
  if (job.parent_id) {
    facts.push(['Rerun of', <code key="parent">{job.parent_id}</code>]);
  }
  return (
    <header className="jp-mlplat-detail-header">
      <div className="jp-mlplat-detail-title">
        <h1>{job.name}</h1>
        <span className="jp-mlplat-job-id" title={job.id}>
          {shortId(job.id)}
        </span>
        <StateChip state={job.state} />
        <span className="jp-mlplat-spacer" />
        {props.actions}
      </div>
      {job.error && (
        <p className="jp-mlplat-error" role="alert">
          {job.error}
        </p>
      )}
      <dl className="jp-mlplat-facts">
        {facts.map(([label, value]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
    </header>
  );
}
