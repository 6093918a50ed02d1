import React from 'react';

import type { IJob, IPlatformConfig, MlplatApi } from '../api';
import { usePromise } from '../hooks';
import type { JobsModel } from '../jobs/model';
import {
  type IModelsSectionProps,
  ModelsSection
} from '../models/ModelsSection';
import { type IRunsSectionProps, RunsSection } from '../runs/RunsSection';
import {
  type ITensorBoardsSectionProps,
  TensorBoardsSection
} from '../tensorboard/TensorBoardsSection';
import type { StorageModel } from '../storage/model';
import { JobsSection } from './JobsSection';
import { StorageSection } from './StorageSection';

export const SERVER_MISSING_MESSAGE =
  'The jupyter_mlplat server extension is not answering: run `jupyter server extension enable jupyter_mlplat` and restart.';

export interface IPanelViewProps {
  api: MlplatApi;
  config: Promise<IPlatformConfig | null>;
  jobs: JobsModel;
  storage: StorageModel;
  onOpenJob: (id: string) => void;
  onDeleteJob: (job: IJob) => Promise<boolean>;
  onOpenCluster: (name: string) => void;
  runs: IRunsSectionProps;
  models: Omit<IModelsSectionProps, 'api'>;
  tensorboards: ITensorBoardsSectionProps;
}

/**
 * The content of the "ML Platform" sidebar.
 */
export function PanelView(props: IPanelViewProps): JSX.Element {
  return (
    <>
      <h2 className="jp-mlplat-panel-title">ML Platform</h2>
      <PanelContent {...props} />
    </>
  );
}

function PanelContent(props: IPanelViewProps): JSX.Element {
  const config = usePromise(props.config);
  if (config === undefined) {
    return <p className="jp-mlplat-loading">Connecting to the platform…</p>;
  }
  if (config === null) {
    return (
      <div className="jp-mlplat-error jp-mlplat-server-missing" role="alert">
        {SERVER_MISSING_MESSAGE}
      </div>
    );
  }
  return (
    <>
      <JobsSection
        model={props.jobs}
        api={props.api}
        targets={config.targets.map(t => t.name)}
        onOpen={props.onOpenJob}
        onDelete={props.onDeleteJob}
      />
      <StorageSection
        clusters={config.storage}
        model={props.storage}
        onOpen={props.onOpenCluster}
      />
      <RunsSection {...props.runs} />
      <ModelsSection api={props.api} {...props.models} />
      <TensorBoardsSection {...props.tensorboards} />
    </>
  );
}
