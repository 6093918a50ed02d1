import React, { useState } from 'react';
import { Clipboard } from '@jupyterlab/apputils';

import type { IJob, MlplatApi } from '../api';
import { isFinal } from '../format';
import { useNow } from '../hooks';
import { JobHeader } from './JobHeader';
import { LogView } from './LogView';
import type { JobFeed } from './feed';
import { EventsTable, ParametersTable } from './tables';
import { Timeline } from './Timeline';
import { usePolledJob } from './usePolledJob';

export interface IJobDetailProps {
  api: MlplatApi;
  jobId: string;
  pollInterval: number;
  /** Job changes pushed by the server (null: poll only). */
  feed?: JobFeed | null;
  onLoaded: (job: IJob) => void;
  openNotebook: (path: string) => Promise<void>;
  rerun: (job: IJob) => Promise<void>;
  openTensorBoard?: (job: IJob) => Promise<void>;
  publishModel?: (job: IJob) => Promise<void>;
}

const TABS = ['Logs', 'Parameters', 'Outputs', 'Events'] as const;
type Tab = (typeof TABS)[number];

/**
 * Everything about one job: header, timeline and tabs.
 */
export function JobDetail(props: IJobDetailProps): JSX.Element {
  const { api, jobId, pollInterval } = props;
  const feed = props.feed ?? null;
  const { job, error, update } = usePolledJob(api, jobId, pollInterval, feed);
  const [tab, setTab] = useState<Tab>('Logs');
  const [actionError, setActionError] = useState<string | null>(null);
  const live = job !== null && !isFinal(job.state);
  const now = useNow(live);

  React.useEffect(() => {
    if (job) {
      props.onLoaded(job);
    }
  }, [job?.name, job?.state]);

  if (!job) {
    return (
      <div className="jp-mlplat-detail">
        {error ? (
          <p className="jp-mlplat-error" role="alert">
            {error}
          </p>
        ) : (
          <p className="jp-mlplat-loading">Loading job {jobId}…</p>
        )}
      </div>
    );
  }

  const act = async (action: () => Promise<void>) => {
    setActionError(null);
    try {
      await action();
    } catch (err) {
      setActionError((err as Error).message);
    }
  };

  const actions = (
    <>
      <button
        className="jp-mod-styled jp-mod-warn jp-mlplat-button"
        disabled={!live}
        title="Stop the job"
        onClick={() => act(async () => update(await api.cancelJob(job.id)))}
      >
        Cancel
      </button>
      <button
        className="jp-mod-styled jp-mod-accept jp-mlplat-button"
        title="Run again, with the same or other parameters"
        onClick={() => act(() => props.rerun(job))}
      >
        Rerun
      </button>
    </>
  );

  return (
    <div className="jp-mlplat-detail">
      <JobHeader job={job} now={now} actions={actions} />
      {(actionError || error) && (
        <p className="jp-mlplat-error" role="alert">
          {actionError || error}
        </p>
      )}
      <Timeline events={job.events} now={now} />
      <div className="jp-mlplat-tabs" role="tablist">
        {TABS.map(name => (
          <button
            key={name}
            role="tab"
            aria-selected={tab === name}
            className={`jp-mlplat-tab${tab === name ? ' jp-mod-current' : ''}`}
            onClick={() => setTab(name)}
          >
            {name}
          </button>
        ))}
      </div>
      <div className="jp-mlplat-tab-panel" role="tabpanel">
        {tab === 'Logs' && (
          <LogView
            api={api}
            jobId={job.id}
            replicas={job.replicas}
            live={live}
            interval={pollInterval}
            feed={feed}
          />
        )}
        {tab === 'Parameters' && (
          <ParametersTable parameters={job.spec.parameters} />
        )}
        {tab === 'Outputs' && (
          <Outputs
            job={job}
            open={path => act(() => props.openNotebook(path))}
            openTensorBoard={
              props.openTensorBoard &&
              (() => act(() => props.openTensorBoard!(job)))
            }
            publishModel={
              props.publishModel && (() => act(() => props.publishModel!(job)))
            }
          />
        )}
        {tab === 'Events' && <EventsTable events={job.events} />}
      </div>
    </div>
  );
}

/** How a notebook uses its job's folder (shown in the Outputs tab). */
export const OUTPUT_SNIPPET = `import os
out = os.environ["MLPLAT_OUTPUT_DIR"]       # this job's own folder: models, files
tb = os.environ["MLPLAT_TENSORBOARD_DIR"]   # TensorBoard logs (out/tensorboard)`;

/** The same for a cluster job whose folder is on a storage cluster (hdfs://). */
export const CLUSTER_OUTPUT_SNIPPET = `import os, fsspec
out = os.environ["MLPLAT_OUTPUT_DIR"]       # hdfs://<cluster>/…/<job id>
tb = os.environ["MLPLAT_TENSORBOARD_DIR"]   # hdfs://…/tensorboard
with fsspec.open(out + "/metrics.json", "w") as f:
    f.write("{}")`;

function Outputs(props: {
  job: IJob;
  open: (path: string) => void;
  openTensorBoard?: () => void;
  publishModel?: () => void;
}): JSX.Element {
  const { notebook, folder, log, tensorboard } = props.job.outputs;
  const [copied, setCopied] = useState(false);
  const snippet = folder?.startsWith('hdfs://')
    ? CLUSTER_OUTPUT_SNIPPET
    : OUTPUT_SNIPPET;
  return (
    <div className="jp-mlplat-outputs">
      <div className="jp-mlplat-actions">
        <button
          className="jp-mod-styled jp-mod-accept jp-mlplat-button"
          disabled={!notebook}
          title="Open it read-only: the notebook as the job ran it"
          onClick={() => notebook && props.open(notebook)}
        >
          Open output notebook
        </button>
        {props.openTensorBoard && (
          <button
            className="jp-mod-styled jp-mlplat-button"
            disabled={!tensorboard}
            title={tensorboard ?? 'This job has no TensorBoard log dir'}
            onClick={props.openTensorBoard}
          >
            Open TensorBoard
          </button>
        )}
        {props.publishModel && (
          <button
            className="jp-mod-styled jp-mlplat-button"
            disabled={props.job.state !== 'succeeded'}
            title="Copy an artifact of this job to the model store as a new version"
            onClick={props.publishModel}
          >
            Publish model…
          </button>
        )}
      </div>
      <dl className="jp-mlplat-facts">
        {[
          ['Output folder', folder],
          ['Output notebook', notebook],
          ['Log', log],
          ['TensorBoard logs', tensorboard]
        ].map(([label, value]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd>{value ? <code>{value}</code> : '—'}</dd>
          </div>
        ))}
      </dl>
      {folder &&
        (props.job.spec.target === 'local' || folder.startsWith('hdfs://')) && (
          <section
            className="jp-mlplat-output-help"
            aria-label="Use the output folder"
          >
            <p>
              Write what the job produces to its own folder; relative paths
              still read from beside the notebook.
            </p>
            <pre className="jp-mlplat-snippet">{snippet}</pre>
            <button
              className="jp-mod-styled jp-mlplat-button"
              onClick={() => {
                Clipboard.copyToSystem(snippet);
                setCopied(true);
              }}
            >
              {copied ? 'Copied' : 'Copy snippet'}
            </button>
          </section>
        )}
    </div>
  );
}
