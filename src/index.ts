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

import { type IPlatformConfig, MlplatApi } from './api';
import type { IMlplatContext } from './context';
import { JobFeed } from './jobs/feed';
import { registerJobs } from './jobs/register';
import { registerMenus } from './menus';
import { registerModels } from './models/register';
import { SERVER_MISSING_MESSAGE } from './panel/PanelView';
import { addSidebar } from './panel/register';
import { registerRuns } from './runs/register';
import { registerSchedules } from './runs/schedules';
import { LiveSettings } from './settings';
import { registerStorage } from './storage/register';
import { storagePlugin } from './storage/plugin';
import { registerTensorBoards } from './tensorboard/register';
import { CommandIDs, IMlplat, PLUGIN_ID } from './tokens';

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

/**
 * Build what every feature shares, then register each feature: its model,
 * its commands and its section of the sidebar.
 */
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
  const api = new MlplatApi();
  const settings = settingRegistry
    ? await settingRegistry.load(PLUGIN_ID).catch(reason => {
        console.error('jupyter-mlplat: could not load settings', reason);
        return null;
      })
    : null;
  const context: IMlplatContext = {
    app,
    api,
    config: fetchConfig(api),
    feed: JobFeed.of(app.serviceManager.events),
    settings: new LiveSettings(settings),
    docManager,
    restorer,
    palette,
    notebooks,
    fileBrowser,
    notebookFactory,
    browserFactory
  };

  const storage = registerStorage(context);
  const tensorboards = registerTensorBoards(context);
  const models = registerModels(context, storage);
  const jobs = registerJobs(context, {
    storage,
    openTensorBoard: async job => {
      await app.commands.execute(CommandIDs.openTensorBoard, {
        jobId: job.id
      });
    },
    publishModel: models.publishJob
  });
  const runs = registerRuns(context);
  const schedules = registerSchedules(context, runs);
  const panel = addSidebar(context, {
    jobs,
    storage,
    runs,
    schedules,
    models,
    tensorboards
  });
  registerMenus(context, panel);

  return { api, config: context.config, storage };
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
