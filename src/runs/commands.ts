/**
 * "Run with Parameters…" (from the file browser's context menu, the command
 * palette and the Runs & Schedules section) and a run's rerun dialog.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import type { Signal } from '@lumino/signaling';

import type { IPlatformConfig, IRun, MlplatApi } from '../api';
import { showSubmitDialog } from '../dialogs/submit';
import { CommandIDs } from '../tokens';
import type { INotebookChoice } from './notebookChoice';

export interface IRunCommandsOptions {
  app: JupyterFrontEnd;
  api: MlplatApi;
  config: Promise<IPlatformConfig | null>;
  choice: INotebookChoice;
  defaultTarget: () => string;
  /** Emitted when a dialog created a run. */
  changed: Signal<object, void>;
}

export interface IRunCommands {
  /** The rerun dialog of a run, prefilled with its parameters. */
  rerun: (run: IRun) => Promise<void>;
}

export function registerRunCommands(
  options: IRunCommandsOptions
): IRunCommands {
  const { app, api, changed } = options;
  const { target, ready, describedBy } = options.choice;
  const { notebookPath } = options.choice;

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

  return { rerun };
}
