/**
 * The job detail in the main area: `mlplat:open-job`, tracked and restored.
 */
import type { ILayoutRestorer, JupyterFrontEnd } from '@jupyterlab/application';
import {
  InputDialog,
  type MainAreaWidget,
  WidgetTracker
} from '@jupyterlab/apputils';

import type { IJob, MlplatApi } from '../api';
import { CommandIDs } from '../tokens';
import { JobFeed } from './feed';
import { createJobDetail, type JobDetailWidget } from './widget';

export interface IJobCommandsOptions {
  app: JupyterFrontEnd;
  api: MlplatApi;
  /** Opens a job's output notebook (read-only). */
  openNotebook: (path: string) => Promise<void>;
  restorer: ILayoutRestorer | null;
  pollInterval: () => number;
  rerun: (job: IJob) => Promise<void>;
  openTensorBoard?: (job: IJob) => Promise<void>;
  publishModel?: (job: IJob) => Promise<void>;
}

/**
 * Register `mlplat:open-job`; the returned tracker holds the open views.
 */
export function registerJobCommands(
  options: IJobCommandsOptions
): WidgetTracker<MainAreaWidget<JobDetailWidget>> {
  const { app, api, openNotebook, restorer } = options;
  const tracker = new WidgetTracker<MainAreaWidget<JobDetailWidget>>({
    namespace: 'mlplat-job'
  });

  app.commands.addCommand(CommandIDs.openJob, {
    label: args => (args.id ? `Open Job ${args.id}` : 'Open Job…'),
    caption: 'Show a job: state, timeline, logs, parameters, outputs',
    describedBy: {
      args: {
        type: 'object',
        properties: { id: { type: 'string', description: 'The job id' } }
      }
    },
    execute: async args => {
      let id = typeof args.id === 'string' ? args.id : '';
      if (!id) {
        const answer = await InputDialog.getText({
          title: 'Open Job',
          label: 'Job id'
        });
        id = answer.button.accept ? (answer.value ?? '').trim() : '';
        if (!id) {
          return;
        }
      }
      const open = tracker.find(widget => widget.content.jobId === id);
      if (open) {
        app.shell.activateById(open.id);
        return;
      }
      const widget = createJobDetail({
        api,
        jobId: id,
        pollInterval: options.pollInterval(),
        feed: JobFeed.of(app.serviceManager.events),
        openNotebook,
        rerun: options.rerun,
        openTensorBoard: options.openTensorBoard,
        publishModel: options.publishModel
      });
      void tracker.add(widget);
      app.shell.add(widget, 'main');
    }
  });

  if (restorer) {
    void restorer.restore(tracker, {
      command: CommandIDs.openJob,
      args: widget => ({ id: widget.content.jobId }),
      name: widget => widget.content.jobId
    });
  }
  return tracker;
}
