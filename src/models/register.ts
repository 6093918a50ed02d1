/**
 * Models: the model list of the sidebar and "Publish as Model…" (from a
 * file browser's context menu, the palette and a finished job's outputs).
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import type {
  IDefaultFileBrowser,
  IFileBrowserFactory
} from '@jupyterlab/filebrowser';

import type { IJob } from '../api';
import { startWithServer, type IMlplatContext } from '../context';
import type { StorageModel } from '../storage/model';
import { hdfsUrl } from '../storage/paths';
import { CommandIDs } from '../tokens';
import { ModelsModel } from './model';

/** Models are published and staged less often than jobs change. */
const MODELS_POLL_FACTOR = 5;

export interface IModels {
  model: ModelsModel;
  /** Publish a finished job's outputs (asks the name, shows the version). */
  publishJob: (job: IJob) => Promise<void>;
}

export function registerModels(
  context: IMlplatContext,
  storage: StorageModel
): IModels {
  const { app, api } = context;
  const model = new ModelsModel({
    api,
    interval: context.settings.current.pollInterval * MODELS_POLL_FACTOR,
    feed: context.feed
  });
  startWithServer(context, model, MODELS_POLL_FACTOR);

  const publish = async (job: IJob | null, path?: string) => {
    const { showPublishDialog } = await import('./publish');
    const version = await showPublishDialog(api, job, path);
    if (version) {
      Notification.success(
        `Published ${version.name} version ${version.version}`,
        { autoClose: 4000 }
      );
      // The server pushes the publish; read at once where it does not.
      void model.refresh();
    }
  };

  app.commands.addCommand(CommandIDs.publishModel, {
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
          : selectedInBrowser(
              app,
              context.browserFactory,
              context.fileBrowser,
              storage
            );
      if (!path) {
        Notification.info('Select a folder in a file browser first.', {
          autoClose: 4000
        });
        return;
      }
      await publish(null, path);
    }
  });

  return { model, publishJob: job => publish(job) };
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
