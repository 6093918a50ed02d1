/**
 * The "ML Platform" sidebar: one section per feature, each rendering the
 * model that feature registered.
 */
import type { IMlplatContext } from '../context';
import type { IJobs } from '../jobs/register';
import type { IModels } from '../models/register';
import type { IRuns } from '../runs/register';
import type { ISchedules } from '../runs/schedules';
import { deleteRun, deleteSchedule } from '../jobs/deleteDialog';
import type { StorageModel } from '../storage/model';
import type { ITensorBoards } from '../tensorboard/register';
import { CommandIDs } from '../tokens';
import { MlplatPanel } from './widget';

export interface ISidebarParts {
  jobs: IJobs;
  storage: StorageModel;
  runs: IRuns;
  schedules: ISchedules;
  models: IModels;
  tensorboards: ITensorBoards;
}

export function addSidebar(
  context: IMlplatContext,
  parts: ISidebarParts
): MlplatPanel {
  const { app, api } = context;
  const { commands } = app;
  const { jobs, runs } = parts;
  const panel = new MlplatPanel({
    api,
    config: context.config,
    jobs: jobs.model,
    storage: parts.storage,
    onOpenJob: jobs.openJob,
    onDeleteJob: jobs.deleteJob,
    onOpenCluster: cluster => {
      if (commands.hasCommand(CommandIDs.openCluster)) {
        void commands.execute(CommandIDs.openCluster, { cluster });
      }
    },
    runs: {
      model: runs.model,
      openPath: path => void jobs.openOutput(path),
      openJob: jobs.openJob,
      // From the panel: ask which notebook (the selected one proposed).
      runNotebook: () =>
        void commands.execute(CommandIDs.runNotebook, { pick: true }),
      scheduleNotebook: () =>
        void commands.execute(CommandIDs.scheduleNotebook, { pick: true }),
      rerun: run => void runs.rerun(run),
      editSchedule: schedule => void parts.schedules.editSchedule(schedule),
      deleteSchedule: schedule => deleteSchedule(api, schedule),
      deleteRun: run => deleteRun(api, run)
    },
    models: {
      model: parts.models.model,
      config: context.config,
      openJob: jobs.openJob,
      openPath: path => void context.docManager.openOrReveal(path)
    },
    tensorboards: {
      model: parts.tensorboards.model,
      open: parts.tensorboards.show
    }
  });
  app.shell.add(panel, 'left', { rank: 300 });
  context.restorer?.add(panel, 'jupyter-mlplat-panel');
  return panel;
}
