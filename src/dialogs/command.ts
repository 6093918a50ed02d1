/**
 * `mlplat:submit-notebook`: from the file browser's context menu, the
 * notebook toolbar or the command palette.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import { showErrorMessage } from '@jupyterlab/apputils';
import type { IDocumentManager } from '@jupyterlab/docmanager';
import type { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import type { INotebookTracker } from '@jupyterlab/notebook';

import type { IJob, IPlatformConfig, MlplatApi } from '../api';
import { mlplatIcon } from '../icons';
import { SERVER_MISSING_MESSAGE } from '../panel/PanelView';
import { CommandIDs } from '../tokens';
import { showSubmitDialog } from './submit';

export interface ISubmitCommandOptions {
  app: JupyterFrontEnd;
  api: MlplatApi;
  config: Promise<IPlatformConfig | null>;
  docManager: IDocumentManager;
  notebooks: INotebookTracker | null;
  fileBrowser: IDefaultFileBrowser | null;
  defaultTarget: () => string;
  /** Called with each job the dialog created. */
  submitted: (job: IJob) => void;
}

export function registerSubmitCommand(options: ISubmitCommandOptions): void {
  const { app, notebooks, fileBrowser } = options;

  const selectedNotebook = (): string | null => {
    for (const item of fileBrowser?.selectedItems() ?? []) {
      if (item.type === 'notebook') {
        return item.path;
      }
    }
    return null;
  };

  const notebookPath = (args: Record<string, unknown>): string | null => {
    if (typeof args.path === 'string' && args.path) {
      return args.path;
    }
    if (args.origin === 'filebrowser') {
      return selectedNotebook();
    }
    return notebooks?.currentWidget?.context.path ?? selectedNotebook();
  };

  app.commands.addCommand(CommandIDs.submitNotebook, {
    label: 'Submit as Job…',
    caption: 'Run this notebook as a job on a compute target',
    icon: args => (args.origin === 'filebrowser' ? undefined : mlplatIcon),
    describedBy: {
      args: {
        type: 'object',
        properties: {
          path: { type: 'string', description: 'The notebook path' },
          origin: {
            type: 'string',
            description: '"filebrowser" to submit the selected notebook'
          }
        }
      }
    },
    isEnabled: args => notebookPath(args) !== null,
    execute: async args => {
      const path = notebookPath(args);
      const config = await options.config;
      if (!path) {
        return;
      }
      if (!config) {
        await showErrorMessage('ML Platform', SERVER_MISSING_MESSAGE);
        return;
      }
      await saveIfDirty(options.docManager, path);
      const job = await showSubmitDialog({
        api: options.api,
        config,
        notebook: path,
        defaultTarget: options.defaultTarget()
      });
      if (job) {
        options.submitted(job);
      }
    }
  });
}

/**
 * A job runs what is on disk: save an open notebook's changes first.
 */
async function saveIfDirty(
  docManager: IDocumentManager,
  path: string
): Promise<void> {
  const widget = docManager.findWidget(path);
  const context = widget && docManager.contextForWidget(widget);
  if (context?.model.dirty) {
    await context.save();
  }
}
