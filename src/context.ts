/**
 * What every feature's registration gets from the plugin's activation: the
 * app, the REST client, the server's config, the pushed feed, the settings
 * and the optional JupyterLab services.
 */
import type { ILayoutRestorer, JupyterFrontEnd } from '@jupyterlab/application';
import type { ICommandPalette } from '@jupyterlab/apputils';
import type { IDocumentManager } from '@jupyterlab/docmanager';
import type {
  IDefaultFileBrowser,
  IFileBrowserFactory
} from '@jupyterlab/filebrowser';
import type {
  INotebookTracker,
  NotebookWidgetFactory
} from '@jupyterlab/notebook';

import type { IPlatformConfig, MlplatApi } from './api';
import type { JobFeed } from './jobs/feed';
import type { LiveSettings } from './settings';

export interface IMlplatContext {
  app: JupyterFrontEnd;
  api: MlplatApi;
  /** Null when the server extension does not answer (the user was told). */
  config: Promise<IPlatformConfig | null>;
  /** Job, run, model and TensorBoard changes pushed by the server. */
  feed: JobFeed;
  settings: LiveSettings;
  docManager: IDocumentManager;
  restorer: ILayoutRestorer | null;
  palette: ICommandPalette | null;
  notebooks: INotebookTracker | null;
  fileBrowser: IDefaultFileBrowser | null;
  notebookFactory: NotebookWidgetFactory.IFactory | null;
  browserFactory: IFileBrowserFactory | null;
}

/** A model that reads once the server answers and polls as its fallback. */
export interface IStartable {
  start(): Promise<void>;
  interval: number;
}

/**
 * Start `model` once the server answers; its fallback interval follows the
 * poll interval setting (times `factor`: lists that change less often).
 */
export function startWithServer(
  context: IMlplatContext,
  model: IStartable,
  factor = 1
): void {
  model.interval = context.settings.current.pollInterval * factor;
  void context.config.then(answer => {
    if (answer) {
      void model.start();
    }
  });
  context.settings.changed.connect((_, settings) => {
    model.interval = settings.pollInterval * factor;
  });
}
