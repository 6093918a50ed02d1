import React, { useState } from 'react';
import {
  caretDownIcon,
  caretRightIcon,
  refreshIcon,
  ToolbarButtonComponent
} from '@jupyterlab/ui-components';

import type {
  IModelSummary,
  IModelVersion,
  MlplatApi,
  ModelStage
} from '../api';
import { formatTime } from '../format';
import { usePolled } from '../hooks';
import { EmptyState, Section } from '../panel/Section';
import { formatMetrics } from './format';

const STAGES: ModelStage[] = ['none', 'staging', 'production', 'archived'];

export interface IModelsSectionProps {
  api: MlplatApi;
  interval: number;
  openJob: (id: string) => void;
  openPath: (path: string) => void;
}

/**
 * Published models; a model opens into its versions with metrics, lineage,
 * stage and what its deployment serves.
 */
export function ModelsSection(props: IModelsSectionProps): JSX.Element {
  const models = usePolled(() => props.api.listModels(), props.interval * 5);
  return (
    <Section
      title="Models"
      count={models.data?.models.length}
      defaultOpen={false}
      actions={
        <ToolbarButtonComponent
          icon={refreshIcon}
          tooltip="Refresh models"
          onClick={models.refresh}
        />
      }
    >
      {models.error && (
        <p className="jp-mlplat-error" role="alert">
          {models.error}
        </p>
      )}
      {models.data && models.data.models.length === 0 && (
        <EmptyState>
          No models yet. Publish one from a finished job (Outputs → Publish
          model…) or with %mlp_publish in a notebook.
        </EmptyState>
      )}
      <ul className="jp-mlplat-model-list" aria-label="Models">
        {models.data?.models.map(model => (
          <ModelRow key={model.name} {...props} model={model} />
        ))}
      </ul>
      {models.data && (
        <p className="jp-mlplat-hint jp-mlplat-store" title="Model store">
          Store: <code>{models.data.store}</code>
        </p>
      )}
    </Section>
  );
}

function ModelRow(
  props: IModelsSectionProps & { model: IModelSummary }
): JSX.Element {
  const { model } = props;
  const [open, setOpen] = useState(false);
  const Caret = open ? caretDownIcon : caretRightIcon;
  const stages = Object.entries(model.stages)
    .map(([stage, version]) => `${stage} v${version}`)
    .join(' · ');
  return (
    <li className="jp-mlplat-model" data-model={model.name}>
      <div className="jp-mlplat-job-line">
        <button
          className="jp-mlplat-model-name"
          aria-expanded={open}
          onClick={() => setOpen(!open)}
        >
          <Caret.react tag="span" className="jp-mlplat-caret" />
          {model.name}
        </button>
        <span className="jp-mlplat-count">
          {model.versions} version{model.versions === 1 ? '' : 's'}
        </span>
      </div>
      <div className="jp-mlplat-job-meta">
        <span>
          {model.latest_version !== null
            ? `latest v${model.latest_version}`
            : 'no version'}
          {stages && ` · ${stages}`}
        </span>
        {model.deployed && <span className="jp-mlplat-serving">deployed</span>}
      </div>
      {open && <ModelDetail {...props} />}
    </li>
  );
}

function ModelDetail(
  props: IModelsSectionProps & { model: IModelSummary }
): JSX.Element {
  const { api, model } = props;
  const versions = usePolled(
    () => api.listVersions(model.name),
    props.interval * 5
  );
  const deployment = usePolled(
    () =>
      model.deployed ? api.getDeployment(model.name) : Promise.resolve(null),
    props.interval * 5
  );
  const [error, setError] = useState<string | null>(null);
  const stage = async (version: IModelVersion, next: ModelStage) => {
    setError(null);
    try {
      await api.setStage(model.name, version.version, next);
      versions.refresh();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const serving = deployment.data;
  return (
    <div className="jp-mlplat-model-detail">
      {serving && (
        <p className="jp-mlplat-serving" data-serving={serving.serving_version}>
          Serving version {serving.serving_version ?? '—'} on {serving.target}/
          {serving.namespace}
          {serving.ready_replicas !== null &&
            ` · ${serving.ready_replicas} ready`}
        </p>
      )}
      {(error || versions.error) && (
        <p className="jp-mlplat-error" role="alert">
          {error || versions.error}
        </p>
      )}
      {versions.data && (
        <table
          className="jp-mlplat-table jp-mlplat-model-versions"
          aria-label={`Versions of ${model.name}`}
        >
          <thead>
            <tr>
              <th>v</th>
              <th>Stage</th>
              <th>Metrics</th>
              <th>From</th>
            </tr>
          </thead>
          <tbody>
            {versions.data.versions.map(version => (
              <tr key={version.version} data-version={version.version}>
                <td title={`${formatTime(version.created)} by ${version.user}`}>
                  {version.version}
                  {serving?.serving_version === version.version && ' ●'}
                </td>
                <td>
                  <select
                    className="jp-mlplat-stage-select"
                    aria-label={`Stage of version ${version.version}`}
                    value={version.stage}
                    onChange={event =>
                      void stage(version, event.target.value as ModelStage)
                    }
                  >
                    {STAGES.map(s => (
                      <option key={s} value={s}>
                        {s}
                      </option>
                    ))}
                  </select>
                </td>
                <td>{formatMetrics(version.metrics) || '—'}</td>
                <td>
                  <Lineage {...props} version={version} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function Lineage(
  props: IModelsSectionProps & { version: IModelVersion }
): JSX.Element {
  const { lineage } = props.version;
  const notebook = lineage.notebook;
  return (
    <span className="jp-mlplat-lineage" title={lineage.source}>
      {lineage.job_id && (
        <button
          className="jp-mlplat-link"
          title={`Job ${lineage.job_id}${lineage.image ? `\n${lineage.image}` : ''}`}
          onClick={() => props.openJob(lineage.job_id!)}
        >
          job
        </button>
      )}
      {lineage.job_id && notebook && ' · '}
      {notebook && (
        <button
          className="jp-mlplat-link"
          title={`${notebook}${lineage.notebook_sha256 ? `\nsha256 ${lineage.notebook_sha256.slice(0, 12)}` : ''}`}
          onClick={() => props.openPath(notebook)}
        >
          {notebook.replace(/^.*\//, '')}
        </button>
      )}
      {!lineage.job_id && !notebook && '—'}
    </span>
  );
}
