import React, { useEffect, useState } from 'react';
import {
  caretDownIcon,
  caretRightIcon,
  refreshIcon,
  ToolbarButtonComponent
} from '@jupyterlab/ui-components';

import { Dialog, showDialog } from '@jupyterlab/apputils';

import type {
  IModelSummary,
  IPlatformConfig,
  IModelVersion,
  MlplatApi,
  ModelStage
} from '../api';
import { formatTime } from '../format';
import { useSignalVersion } from '../hooks';
import { EmptyState, Section } from '../panel/Section';
import { showDeployDialog } from './deploy';
import { formatMetrics, stageConsequences } from './format';
import type { ModelsModel } from './model';

const STAGES: ModelStage[] = ['none', 'staging', 'production', 'archived'];

export interface IModelsSectionProps {
  /** The models, and the versions of those opened (kept current by it). */
  model: ModelsModel;
  /** For the deploy dialog. */
  api: MlplatApi;
  /** The platform config (the targets a version can be deployed to). */
  config: Promise<IPlatformConfig | null>;
  openJob: (id: string) => void;
  openPath: (path: string) => void;
}

/**
 * Published models; a model opens into its versions with metrics, lineage,
 * stage and what its deployment serves.
 */
export function ModelsSection(props: IModelsSectionProps): JSX.Element {
  const { model: models } = props;
  useSignalVersion(models.changed);
  const list = models.models;
  return (
    <Section
      title="Models"
      count={list?.length}
      defaultOpen={false}
      actions={
        <ToolbarButtonComponent
          icon={refreshIcon}
          tooltip="Refresh models"
          onClick={() => void models.refresh()}
        />
      }
    >
      {models.error && (
        <p className="jp-mlplat-error" role="alert">
          {models.error}
        </p>
      )}
      {list && list.length === 0 && (
        <EmptyState>
          No models yet. Publish one from a finished job (Outputs → Publish
          model…) or with %mlp_publish in a notebook.
        </EmptyState>
      )}
      <ul className="jp-mlplat-model-list" aria-label="Models">
        {list?.map(summary => (
          <ModelRow key={summary.name} {...props} summary={summary} />
        ))}
      </ul>
      {list && (
        <p className="jp-mlplat-hint jp-mlplat-store" title="Model store">
          Store: <code>{models.store}</code>
        </p>
      )}
    </Section>
  );
}

function ModelRow(
  props: IModelsSectionProps & { summary: IModelSummary }
): JSX.Element {
  const { summary: model } = props;
  const [open, setOpen] = useState(false);
  // An open model's versions and deployment are read (and kept current).
  useEffect(() => {
    if (!open) {
      return;
    }
    void props.model.open(model.name);
    return () => props.model.close(model.name);
  }, [open, model.name]);
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

/**
 * Ask before a stage change, saying what else changes (the version that held
 * staging or production is archived); true to go ahead.
 */
async function confirmStage(
  model: string,
  versions: readonly IModelVersion[],
  version: IModelVersion,
  next: ModelStage
): Promise<boolean> {
  const others = stageConsequences(versions, version.version, next);
  if (
    others.length === 0 &&
    next !== 'production' &&
    version.stage !== 'production'
  ) {
    return true; // nothing else changes, and production is not involved
  }
  const result = await showDialog({
    title: `Move ${model} v${version.version} to ${next}?`,
    body: [
      `v${version.version}: ${version.stage} → ${next}.`,
      ...others.map(text => `Also: ${text}.`),
      others.length === 0 ? 'No other version changes.' : ''
    ]
      .filter(Boolean)
      .join(' '),
    buttons: [
      Dialog.cancelButton(),
      Dialog.warnButton({ label: `Move to ${next}` })
    ]
  });
  return result.button.accept;
}

function ModelDetail(
  props: IModelsSectionProps & { summary: IModelSummary }
): JSX.Element {
  const { api, summary: model, model: models } = props;
  const detail = models.detail(model.name);
  const versions = detail?.versions;
  const [error, setError] = useState<string | null>(null);
  // The select shows the stage the version has until the server moved it.
  const [, rerender] = useState(0);
  const stage = async (version: IModelVersion, next: ModelStage) => {
    setError(null);
    if (!(await confirmStage(model.name, versions ?? [], version, next))) {
      rerender(n => n + 1);
      return;
    }
    try {
      await models.setStage(model.name, version.version, next);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const deploy = async (version: IModelVersion) => {
    const config = await props.config;
    if (!config) {
      return;
    }
    const done = await showDeployDialog({
      api,
      config,
      model: model.name,
      version: version.version
    });
    if (done) {
      await models.refresh();
    }
  };
  const serving = detail?.deployment;
  return (
    <div className="jp-mlplat-model-detail">
      {serving && (
        <p
          className="jp-mlplat-serving"
          data-serving={serving.serving_version}
          data-ready={serving.ready_replicas ?? ''}
        >
          Serving v{serving.serving_version ?? '—'} on {serving.target}/
          {serving.namespace}
          {serving.ready_replicas !== null &&
            ` · ${serving.ready_replicas} ready`}
        </p>
      )}
      {(error || detail?.error) && (
        <p className="jp-mlplat-error" role="alert">
          {error || detail?.error}
        </p>
      )}
      {versions && (
        <ul
          className="jp-mlplat-model-versions"
          aria-label={`Versions of ${model.name}`}
        >
          {versions.map(version => (
            <li
              key={version.version}
              className="jp-mlplat-model-version"
              data-version={version.version}
              data-stage={version.stage}
            >
              <div className="jp-mlplat-job-line">
                <span
                  className="jp-mlplat-version-number"
                  title={`${formatTime(version.created)} by ${version.user}`}
                >
                  v{version.version}
                  {serving?.serving_version === version.version && ' ●'}
                </span>
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
                <span className="jp-mlplat-spacer" />
                <button
                  className="jp-mlplat-link"
                  aria-label={`Deploy version ${version.version}`}
                  onClick={() => void deploy(version)}
                >
                  Deploy…
                </button>
              </div>
              <div className="jp-mlplat-version-metrics">
                {formatMetrics(version.metrics) || 'no metrics'}
              </div>
              <div className="jp-mlplat-job-meta">
                <Lineage {...props} version={version} />
              </div>
            </li>
          ))}
        </ul>
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
