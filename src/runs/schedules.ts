/**
 * Schedules: "Schedule Notebook…" (from the file browser's context menu, the
 * command palette and the Runs & Schedules section) and the edit dialog.
 */
import { Notification } from '@jupyterlab/apputils';

import type { ISchedule } from '../api';
import type { IMlplatContext } from '../context';
import { CommandIDs } from '../tokens';
import type { IRuns } from './register';
import { showScheduleDialog } from './schedule';

export interface ISchedules {
  /** Edit every part of a schedule's definition. */
  editSchedule: (schedule: ISchedule) => Promise<void>;
}

/**
 * Register "Schedule Notebook…"; a schedule created or changed here is read
 * again by the runs model (it holds both lists).
 */
export function registerSchedules(
  context: IMlplatContext,
  runs: IRuns
): ISchedules {
  const { app, api } = context;
  const { changed } = runs;
  const { target, ready, describedBy, notebookPath } = runs.choice;

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

  const editSchedule = async (schedule: ISchedule): Promise<void> => {
    const config = await context.config;
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

  return { editSchedule };
}
