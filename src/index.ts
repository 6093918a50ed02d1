/* eslint-disable jupyter/prefer-lazy-imports -- the sidebar and the commands
   are registered at activation, so their modules are needed at once. */
import {
  ILayoutRestorer,
  type JupyterFrontEnd,
  type JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import {
  IDefaultFileBrowser,
  IFileBrowserFactory
} from '@jupyterlab/filebrowser';
import {
  INotebookTracker,
  INotebookWidgetFactory,
  type NotebookWidgetFactory
} from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { type IJob, type IPlatformConfig, MlplatApi } from './api';
import { registerSubmitCommand } from './dialogs/command';
import { registerJobCommands } from './jobs/commands';
import { JobFeed } from './jobs/feed';
import { deleteJob, deleteRun, deleteSchedule } from './jobs/deleteDialog';
import {
  openOutputNotebook,
  registerOutputNotebookFactory
} from './jobs/outputNotebook';
import { registerRunCommands } from './runs/commands';
import { registerTensorBoardCommands } from './tensorboard/commands';
import { JobsModel } from './jobs/model';
import { SERVER_MISSING_MESSAGE } from './panel/PanelView';
import { MlplatPanel } from './panel/widget';
import { readSettings } from './settings';
import { StorageModel } from './storage/model';
import { drivePath, hdfsUrl } from './storage/paths';
import { storagePlugin } from './storage/plugin';
import { COMMAND_CATEGORY, CommandIDs, IMlplat, PLUGIN_ID } from './tokens';

/**
 * The ML Platform workbench: sidebar, job views, submit dialog.
 */
const plugin: JupyterFrontEndPlugin<IMlplat> = {
  id: PLUGIN_ID,
  description:
    'The ML Platform sidebar, job detail views and the "Submit as job" dialog.',
  autoStart: true,
  provides: IMlplat,
  requires: [IDocumentManager],
  optional: [
    ISettingRegistry,
    ILayoutRestorer,
    ICommandPalette,
    INotebookTracker,
    IDefaultFileBrowser,
    INotebookWidgetFactory,
    IFileBrowserFactory
  ],
  activate
};

async function activate(
  app: JupyterFrontEnd,
  docManager: IDocumentManager,
  settingRegistry: ISettingRegistry | null,
  restorer: ILayoutRestorer | null,
  palette: ICommandPalette | null,
  notebooks: INotebookTracker | null,
  fileBrowser: IDefaultFileBrowser | null,
  notebookFactory: NotebookWidgetFactory.IFactory | null,
  browserFactory: IFileBrowserFactory | null
): Promise<IMlplat> {
  const { commands, shell } = app;
  const api = new MlplatApi();
  const settings = settingRegistry
    ? await settingRegistry.load(PLUGIN_ID).catch(reason => {
        console.error('jupyter-mlplat: could not load settings', reason);
        return null;
      })
    : null;
  let current = readSettings(settings);

  const config = fetchConfig(api);
  const jobs = new JobsModel(
    api,
    current.pollInterval,
    JobFeed.of(app.serviceManager.events)
  );
  const storage = new StorageModel(api);
  void config.then(answer => {
    if (answer) {
      void jobs.start();
      void storage.start();
    }
  });
  settings?.changed.connect(() => {
    current = readSettings(settings);
    jobs.interval = current.pollInterval;
  });

  const openJob = (id: string) =>
    void commands.execute(CommandIDs.openJob, { id });
  const submitted = (job: IJob) => {
    void jobs.refresh();
    if (current.openDetailOnSubmit) {
      openJob(job.id);
    }
  };

  const runCommands = registerRunCommands({
    app,
    api,
    config,
    docManager,
    notebooks,
    fileBrowser,
    defaultTarget: () => current.defaultTarget
  });

  const tensorboards = registerTensorBoardCommands(app, api);
  const openPath = (path: string) => void docManager.openOrReveal(path);
  // Job output notebooks (also a run's output) open read-only, without a kernel.
  const readOnlyOutputs = registerOutputNotebookFactory(app, notebookFactory);
  // A cluster job's output notebook is an hdfs:// URL: it opens through the
  // cluster's drive (`prod-b:user/alice/…/train.ipynb`).
  const openOutput = (path: string) =>
    openOutputNotebook(
      docManager,
      drivePath(path, cluster => storage.url(cluster)),
      readOnlyOutputs
    );

  const panel = new MlplatPanel({
    api,
    config,
    models: { config, interval: current.pollInterval, openJob, openPath },
    tensorboards: {
      interval: current.pollInterval,
      changed: tensorboards.changed,
      open: tensorboards.show
    },
    runs: {
      interval: current.pollInterval,
      changed: runCommands.changed,
      openPath: path => void openOutput(path),
      openJob,
      // From the panel: ask which notebook (the selected one proposed).
      runNotebook: () =>
        void commands.execute(CommandIDs.runNotebook, { pick: true }),
      scheduleNotebook: () =>
        void commands.execute(CommandIDs.scheduleNotebook, { pick: true }),
      rerun: run => void runCommands.rerun(run),
      editSchedule: schedule => void runCommands.editSchedule(schedule),
      deleteSchedule: schedule => deleteSchedule(api, schedule),
      deleteRun: run => deleteRun(api, run)
    },
    jobs,
    storage,
    onOpenJob: openJob,
    onDeleteJob: async job => {
      const done = await deleteJob(api, job);
      if (done) {
        // Its tab, if open, shows a job that is gone.
        jobTracker.find(widget => widget.content.jobId === job.id)?.dispose();
      }
      return done;
    },
    onOpenCluster: cluster => {
      if (commands.hasCommand(CommandIDs.openCluster)) {
        void commands.execute(CommandIDs.openCluster, { cluster });
      }
    }
  });
  shell.add(panel, 'left', { rank: 300 });
  restorer?.add(panel, 'jupyter-mlplat-panel');

  const jobTracker = registerJobCommands({
    app,
    api,
    restorer,
    openNotebook: openOutput,
    pollInterval: () => current.pollInterval,
    openTensorBoard: async job => {
      await commands.execute(CommandIDs.openTensorBoard, { jobId: job.id });
    },
    publishModel: async job => {
      const { showPublishDialog } = await import('./models/publish');
      const version = await showPublishDialog(api, job);
      if (version) {
        Notification.success(
          `Published ${version.name} version ${version.version}`,
          { autoClose: 4000 }
        );
      }
    },
    rerun: async job => {
      const answer = await config;
      if (!answer) {
        throw new Error(SERVER_MISSING_MESSAGE);
      }
      const { showSubmitDialog } = await import('./dialogs/submit');
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
    config,
    docManager,
    notebooks,
    fileBrowser,
    defaultTarget: () => current.defaultTarget,
    submitted
  });

  commands.addCommand(CommandIDs.publishModel, {
    label: 'Publish as Model…',
    caption:
      'Publish this folder (or file) as the next version of a model in the model store',
    describedBy: {
      args: {
        type: 'object',
        properties: {
          path: {
            type: 'string',
            description: 'A path under the Jupyter root or hdfs://cluster/path'
          }
        }
      }
    },
    execute: async args => {
      const path =
        typeof args.path === 'string' && args.path
          ? args.path
          : selectedInBrowser(app, browserFactory, fileBrowser, storage);
      if (!path) {
        Notification.info('Select a folder in a file browser first.', {
          autoClose: 4000
        });
        return;
      }
      const { showPublishDialog } = await import('./models/publish');
      const version = await showPublishDialog(api, null, path);
      if (version) {
        Notification.success(
          `Published ${version.name} version ${version.version}`,
          { autoClose: 4000 }
        );
      }
    }
  });

  commands.addCommand(CommandIDs.openPanel, {
    label: 'Show ML Platform Panel',
    caption: 'Jobs, storage, runs, models and TensorBoards',
    describedBy: { args: { type: 'object', properties: {} } },
    execute: () => shell.activateById(panel.id)
  });
  commands.addCommand(CommandIDs.refreshJobs, {
    label: 'Refresh Jobs',
    caption: 'Fetch the job list now',
    describedBy: { args: { type: 'object', properties: {} } },
    execute: () => jobs.refresh()
  });

  for (const command of [
    CommandIDs.openPanel,
    CommandIDs.submitNotebook,
    CommandIDs.runNotebook,
    CommandIDs.scheduleNotebook,
    CommandIDs.openJob,
    CommandIDs.refreshJobs
  ]) {
    palette?.addItem({ command, category: COMMAND_CATEGORY });
  }

  return { api, config, storage };
}

/**
 * The item the context menu was opened on (or selected) in any file browser,
 * as a path the server takes: root-relative, or `hdfs://cluster/path` for a
 * cluster's browser (`prod-a:/data` → `hdfs://prod-a/data`).
 */
function selectedInBrowser(
  app: JupyterFrontEnd,
  factory: IFileBrowserFactory | null,
  fallback: IDefaultFileBrowser | null,
  storage: StorageModel
): string | null {
  const hit = app.contextMenuHitTest(node =>
    node.classList.contains('jp-FileBrowser')
  );
  const browser =
    (hit && factory?.tracker.find(b => b.node === hit)) ||
    factory?.tracker.currentWidget ||
    fallback;
  const item = browser?.selectedItems().next();
  if (!item || item.done) {
    return null;
  }
  const path = item.value.path;
  const colon = path.indexOf(':');
  if (colon < 0) {
    return path;
  }
  const cluster = path.slice(0, colon);
  return hdfsUrl(storage.url(cluster), path.slice(colon + 1));
}

/**
 * The platform config; null (and the user told how to fix it) when the
 * server extension does not answer.
 */
async function fetchConfig(api: MlplatApi): Promise<IPlatformConfig | null> {
  try {
    return await api.getConfig();
  } catch (error) {
    console.error('jupyter-mlplat: GET config failed', error);
    Notification.error(SERVER_MISSING_MESSAGE, { autoClose: false });
    return null;
  }
}

export default [plugin, storagePlugin];
