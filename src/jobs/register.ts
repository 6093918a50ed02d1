/**
 * Jobs: the list model of the sidebar, the job detail (`mlplat:open-job`),
 * "Submit as Job…" and "Refresh Jobs".
 */
import type { MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';

import type { IJob } from '../api';
import { startWithServer, type IMlplatContext } from '../context';
import { registerSubmitCommand } from '../dialogs/command';
import { SERVER_MISSING_MESSAGE } from '../panel/PanelView';
import type { StorageModel } from '../storage/model';
import { drivePath } from '../storage/paths';
import { CommandIDs } from '../tokens';
import { registerJobCommands } from './commands';
import { deleteJob } from './deleteDialog';
import { JobsModel } from './model';
import {
  openOutputNotebook,
  registerOutputNotebookFactory
} from './outputNotebook';
import type { JobDetailWidget } from './widget';

export interface IJobsOptions {
  /** The clusters (an `hdfs://` output notebook opens through its drive). */
  storage: StorageModel;
  openTensorBoard: (job: IJob) => Promise<void>;
  publishModel: (job: IJob) => Promise<void>;
}

export interface IJobs {
  model: JobsModel;
  openJob: (id: string) => void;
  /** Open an output notebook (a job's or a run's) read-only, no kernel. */
  openOutput: (path: string) => Promise<void>;
  /** Confirm and delete a job; its open tab closes. True once gone. */
  deleteJob: (job: IJob) => Promise<boolean>;
  tracker: WidgetTracker<MainAreaWidget<JobDetailWidget>>;
}

export function registerJobs(
  context: IMlplatContext,
  options: IJobsOptions
): IJobs {
  const { app, api, settings } = context;
  const { commands } = app;
  const model = new JobsModel(api, settings.current.pollInterval, context.feed);
  startWithServer(context, model);

  // Job output notebooks (also a run's output) open read-only, without a
  // kernel; a cluster job's is an hdfs:// URL that opens through the
  // cluster's drive (`prod-b:user/alice/…/train.ipynb`).
  const readOnlyOutputs = registerOutputNotebookFactory(
    app,
    context.notebookFactory
  );
  const openOutput = (path: string) =>
    openOutputNotebook(
      context.docManager,
      drivePath(path, cluster => options.storage.url(cluster)),
      readOnlyOutputs
    );

  const openJob = (id: string) =>
    void commands.execute(CommandIDs.openJob, { id });
  const submitted = (job: IJob) => {
    void model.refresh();
    if (settings.current.openDetailOnSubmit) {
      openJob(job.id);
    }
  };

  const tracker = registerJobCommands({
    app,
    api,
    restorer: context.restorer,
    openNotebook: openOutput,
    pollInterval: () => settings.current.pollInterval,
    openTensorBoard: options.openTensorBoard,
    publishModel: options.publishModel,
    rerun: async job => {
      const answer = await context.config;
      if (!answer) {
        throw new Error(SERVER_MISSING_MESSAGE);
      }
      const { showSubmitDialog } = await import('../dialogs/submit');
      const next = await showSubmitDialog({
        api,
        config: answer,
        notebook: job.spec.notebook,
        rerunOf: job
      });
      if (next) {
        submitted(next);
      }
    }
  });
  registerSubmitCommand({
    app,
    api,
    config: context.config,
    docManager: context.docManager,
    notebooks: context.notebooks,
    fileBrowser: context.fileBrowser,
    defaultTarget: () => settings.current.defaultTarget,
    submitted
  });
  commands.addCommand(CommandIDs.refreshJobs, {
    label: 'Refresh Jobs',
    caption: 'Fetch the job list now',
    describedBy: { args: { type: 'object', properties: {} } },
    execute: () => model.refresh()
  });

  return {
    model,
    openJob,
    openOutput,
    tracker,
    deleteJob: async job => {
      const done = await deleteJob(api, job);
      if (done) {
        // Its tab, if open, shows a job that is gone.
        tracker.find(widget => widget.content.jobId === job.id)?.dispose();
      }
      return done;
    }
  };
}
