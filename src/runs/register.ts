/**
 * Runs: the run history model of the sidebar and "Run with Parameters…"
 * (schedules register theirs in `./scheduleCommands.ts`).
 */
import { Signal } from '@lumino/signaling';

import type { IRun } from '../api';
import { startWithServer, type IMlplatContext } from '../context';
import { registerRunCommands } from './commands';
import { RunsModel } from './model';
import { notebookChoice, type INotebookChoice } from './notebookChoice';

export interface IRuns {
  model: RunsModel;
  /** Emitted when a dialog here created a run or a schedule. */
  changed: Signal<object, void>;
  /** Which notebook a run or schedule command is for. */
  choice: INotebookChoice;
  rerun: (run: IRun) => Promise<void>;
}

export function registerRuns(context: IMlplatContext): IRuns {
  const changed = new Signal<object, void>(context);
  const choice = notebookChoice({
    config: context.config,
    docManager: context.docManager,
    notebooks: context.notebooks,
    fileBrowser: context.fileBrowser
  });
  const { rerun } = registerRunCommands({
    app: context.app,
    api: context.api,
    config: context.config,
    choice,
    defaultTarget: () => context.settings.current.defaultTarget,
    changed
  });
  const model = new RunsModel({
    api: context.api,
    interval: context.settings.current.pollInterval,
    feed: context.feed,
    created: changed
  });
  startWithServer(context, model);
  return { model, changed, choice, rerun };
}
