/**
 * Confirmations before deleting a job, a run or a schedule: what goes, what
 * stays, and whether the outputs go too.
 */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';

import {
  ApiError,
  type IJob,
  type IRun,
  type ISchedule,
  type MlplatApi
} from '../api';
import { isFinal } from '../format';
import { shortId } from './listing';

const OUTPUTS = 'Also delete its output folder';

async function ask(
  title: string,
  body: string,
  accept: string,
  checkbox: string | null
): Promise<{ outputs: boolean } | null> {
  const result = await showDialog({
    title,
    body,
    checkbox: checkbox ? { label: checkbox, checked: false } : null,
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: accept })]
  });
  return result.button.accept ? { outputs: !!result.isChecked } : null;
}

async function attempt(
  what: string,
  action: () => Promise<void>
): Promise<boolean> {
  try {
    await action();
    Notification.success(`Deleted ${what}`, { autoClose: 3000 });
    return true;
  } catch (error) {
    Notification.error(
      `Could not delete ${what}: ${(error as Error).message}`,
      {
        autoClose: 8000
      }
    );
    return false;
  }
}

/**
 * Confirm, then delete a job (cancelled first while it runs); true once gone.
 */
export async function deleteJob(api: MlplatApi, job: IJob): Promise<boolean> {
  const running = !isFinal(job.state);
  const label = `${job.name} (${shortId(job.id)})`;
  const folder = job.outputs.folder ? ` (${job.outputs.folder})` : '';
  const answer = await ask(
    running ? 'Cancel and delete job' : 'Delete job',
    `${running ? `${label} is ${job.state}: it is cancelled first, then deleted.` : `Delete ${label}?`} ` +
      `Its record, timeline and log go; its output folder${folder} stays unless you tick the box.`,
    running ? 'Cancel and delete' : 'Delete',
    OUTPUTS
  );
  if (!answer) {
    return false;
  }
  return attempt(`job ${label}`, async () => {
    if (running) {
      try {
        await api.cancelJob(job.id);
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 409)) {
          throw error; // 409: it finished meanwhile
        }
      }
    }
    await api.deleteJob(job.id, answer.outputs);
  });
}

/**
 * Confirm, then delete a finished run with its job; true once gone.
 */
export async function deleteRun(api: MlplatApi, run: IRun): Promise<boolean> {
  const answer = await ask(
    'Delete run',
    `Delete the run ${run.id} of ${run.notebook} and its job? Its output notebook stays unless you tick the box.`,
    'Delete',
    OUTPUTS
  );
  return answer
    ? attempt(`run ${run.id}`, () => api.deleteRun(run.id, answer.outputs))
    : false;
}

/**
 * Confirm, then delete a schedule, with or without its runs; true once gone.
 */
export async function deleteSchedule(
  api: MlplatApi,
  schedule: ISchedule
): Promise<boolean> {
  const answer = await ask(
    'Delete schedule',
    `Delete “${schedule.name}”? It will not fire again. Its runs stay in the history unless you tick the box (then their jobs and output folders go too).`,
    'Delete',
    'Also delete its runs and their outputs'
  );
  return answer
    ? attempt(`schedule ${schedule.name}`, () =>
        api.deleteSchedule(schedule.id, {
          runs: answer.outputs,
          outputs: answer.outputs
        })
      )
    : false;
}
