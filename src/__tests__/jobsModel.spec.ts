import type { IJob, IRun } from '../api';
import { JobsModel } from '../jobs/model';
import { triggerOf } from '../jobs/listing';

function job(id: string, parentId: string | null = null): IJob {
  return { id, state: 'succeeded', parent_id: parentId, spec: {} } as IJob;
}

function run(id: string, jobId: string | null, trigger: IRun['trigger']): IRun {
  return { id, job_id: jobId, trigger, state: 'succeeded' } as IRun;
}

/** Resolve once `check()` holds (real timers; fails after 2 s). */
async function until(check: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 2000;
  while (!check()) {
    if (Date.now() > end) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise(resolve => setTimeout(resolve, 5));
  }
}

describe('JobsModel', () => {
  it('reads each listed job with the run it belongs to, and tells the change', async () => {
    let runs = [run('r1', 'j1', 'schedule'), run('r0', null, 'schedule')];
    const api = {
      listJobs: async () => ({
        jobs: [job('j1'), job('j2', 'j1'), job('j3')],
        total: 3,
        total_exact: true
      }),
      listRuns: async () => ({
        runs,
        total: runs.length,
        limit: 500,
        offset: 0
      })
    };
    const model = new JobsModel(api as any, 60_000);
    let changes = 0;
    model.changed.connect(() => changes++);
    void model.start();
    await until(() => model.loaded, 'the first answer');
    expect(model.jobs.map(j => j.id)).toEqual(['j1', 'j2', 'j3']);
    expect([...model.runsByJob.keys()]).toEqual(['j1']);
    const triggers = model.jobs.map(j => triggerOf(j, model.runsByJob));
    expect(triggers).toEqual(['schedule', 'rerun', 'manual']);

    // the same answer again: nothing to redraw
    const before = changes;
    let reads = 0;
    const listJobs = api.listJobs;
    api.listJobs = async () => {
      reads++;
      return listJobs();
    };
    void model.refresh();
    await until(() => reads === 1, 'a second read');
    await new Promise(resolve => setTimeout(resolve, 20));
    expect(changes).toBe(before);

    // a run now names j3: the list changes without any job changing
    runs = [...runs, run('r2', 'j3', 'rerun')];
    void model.refresh();
    await until(() => changes === before + 1, 'the change to be told');
    expect(triggerOf(model.jobs[2], model.runsByJob)).toBe('rerun');
    model.dispose();
  });
});
