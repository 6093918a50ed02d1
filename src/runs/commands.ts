/**
 * "Run with Parameters…" and "Schedule Notebook…": from the file browser's
 * context menu, the command palette and the Runs & Schedules section.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import {
  InputDialog,
  Notification,
  showErrorMessage
} from '@jupyterlab/apputils';
import type { IDocumentManager } from '@jupyterlab/docmanager';
import type { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import type { INotebookTracker } from '@jupyterlab/notebook';
import { Signal } from '@lumino/signaling';

import type { IPlatformConfig, IRun, ISchedule, MlplatApi } from '../api';
import { showSubmitDialog } from '../dialogs/submit';
import { SERVER_MISSING_MESSAGE } from '../panel/PanelView';
import { CommandIDs } from '../tokens';
import { showScheduleDialog } from './schedule';

export interface IRunCommandsOptions {
  app: JupyterFrontEnd;
  api: MlplatApi;
  config: Promise<IPlatformConfig | null>;
  docManager: IDocumentManager;
  notebooks: INotebookTracker | null;
  fileBrowser: IDefaultFileBrowser | null;
  defaultTarget: () => string;
}

export interface IRunCommands {
  /** Emitted when a dialog created a run or a schedule. */
  changed: Signal<object, void>;
  /** The rerun dialog of a run, prefilled with its parameters. */
  rerun: (run: IRun) => Promise<void>;
  /** Edit every part of a schedule's definition. */
  editSchedule: (schedule: ISchedule) => Promise<void>;
}

export function registerRunCommands(
  options: IRunCommandsOptions
): IRunCommands {
  const { app, api, notebooks, fileBrowser } = options;
  const changed = new Signal<object, void>(options);

  const notebookPath = (args: Record<string, unknown>): string | null => {
    if (typeof args.path === 'string' && args.path) {
      return args.path;
    }
    const selected = (): string | null => {
      for (const item of fileBrowser?.selectedItems() ?? []) {
        if (item.type === 'notebook') {
          return item.path;
        }
      }
      return null;
    };
    if (args.origin === 'filebrowser') {
      return selected();
    }
    return notebooks?.currentWidget?.context.path ?? selected();
  };

  /**
   * Ask which notebook (`pick: true`): the notebooks of the file browser's
   * folder and the open ones, the selected (or current) one first; any path
   * can be typed.
   */
  const pickNotebook = async (title: string): Promise<string | null> => {
    const preferred =
      notebookPath({ origin: 'filebrowser' }) ?? notebookPath({});
    const candidates = new Set<string>(preferred ? [preferred] : []);
    for (const item of fileBrowser?.model.items() ?? []) {
      if (item.type === 'notebook') {
        candidates.add(item.path);
      }
    }
    notebooks?.forEach(widget => void candidates.add(widget.context.path));
    const answer = await InputDialog.getItem({
      title,
      label: 'Notebook (path from the Jupyter root)',
      items: [...candidates],
      current: preferred ?? '',
      editable: true,
      placeholder: 'folder/notebook.ipynb'
    });
    const path = answer.button.accept ? (answer.value ?? '').trim() : '';
    return path || null;
  };

  /** The notebook a command is for: asked when `pick`, else from context. */
  const target = async (
    args: Record<string, unknown>,
    title: string
  ): Promise<string | null> =>
    args.pick === true ? pickNotebook(title) : notebookPath(args);

  /** The config, or null after telling the user why there is none. */
  const ready = async (path: string): Promise<IPlatformConfig | null> => {
    const config = await options.config;
    if (!config) {
      await showErrorMessage('ML Platform', SERVER_MISSING_MESSAGE);
      return null;
    }
    const widget = options.docManager.findWidget(path);
    const context = widget && options.docManager.contextForWidget(widget);
    if (context?.model.dirty) {
      await context.save();
    }
    return config;
  };

  const describedBy = {
    args: {
      type: 'object' as const,
      properties: {
        path: { type: 'string', description: 'The notebook path' },
        origin: {
          type: 'string',
          description: '"filebrowser" to use the selected notebook'
        },
        pick: {
          type: 'boolean',
          description: 'Ask which notebook (the selected one proposed)'
        }
      }
    }
  };

  app.commands.addCommand(CommandIDs.runNotebook, {
    label: 'Run with Parameters…',
    caption: 'Run this notebook with papermill, with other parameters',
    describedBy,
    isEnabled: args => args.pick === true || notebookPath(args) !== null,
    execute: async args => {
      const path = await target(args, 'Run which notebook?');
      const config = path && (await ready(path));
      if (!path || !config) {
        return;
      }
      const run = await showSubmitDialog<IRun>({
        api,
        config,
        notebook: path,
        defaultTarget: options.defaultTarget(),
        title: 'Run with parameters',
        acceptLabel: 'Run',
        send: submission =>
          api.createRun({
            notebook: path,
            name: submission.name,
            parameters: submission.parameters,
            target: submission.target,
            runtime: submission.runtime
          })
      });
      if (run) {
        changed.emit();
        Notification.success(`Run ${run.id} of ${path} started`, {
          autoClose: 4000
        });
      }
    }
  });

  app.commands.addCommand(CommandIDs.scheduleNotebook, {
    label: 'Schedule Notebook…',
    caption: 'Run this notebook on a cron schedule',
    describedBy,
    isEnabled: args => args.pick === true || notebookPath(args) !== null,
    execute: async args => {
      const path = await target(args, 'Schedule which notebook?');
      const config = path && (await ready(path));
      if (!path || !config) {
        return;
      }
      const schedule = await showScheduleDialog({
        api,
        config,
        notebook: path
      });
      if (schedule) {
        changed.emit();
        Notification.success(
          `Scheduled ${schedule.name}: ${schedule.description}`,
          {
            autoClose: 4000
          }
        );
      }
    }
  });

  const rerun = async (run: IRun): Promise<void> => {
    const config = await options.config;
    if (!config) {
      return;
    }
    const next = await showSubmitDialog<IRun>({
      api,
      config,
      notebook: run.notebook,
      title: `Rerun ${run.notebook.replace(/^.*\//, '')}`,
      acceptLabel: 'Rerun',
      prefill: {
        parameters: run.parameters,
        target: run.target,
        rerun: true
      },
      send: submission => api.rerunRun(run.id, submission.parameters)
    });
    if (next) {
      changed.emit();
    }
  };

  const editSchedule = async (schedule: ISchedule): Promise<void> => {
    const config = await options.config;
    if (!config) {
      return;
    }
    const edited = await showScheduleDialog({ api, config, schedule });
    if (edited) {
      changed.emit();
      Notification.success(`Saved ${edited.name}: ${edited.description}`, {
        autoClose: 4000
      });
    }
  };

  return { changed, rerun, editSchedule };
}
