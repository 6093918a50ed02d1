import type { IJob, JobState } from '../api';
import { mergeJobs } from '../jobs/merge';

function job(
  id: string,
  state: JobState = 'running',
  extra: Partial<IJob> = {}
): IJob {
  return {
    id,
    name: `job ${id}`,
    user: 'ada',
    state,
    spec: {
      notebook: 'train.ipynb',
      code: null,
      name: null,
      parameters: { n: 3 },
      target: 'local',
      runtime: 'default',
      resources: { cpu: null, memory: null, gpu: 0 },
      kind: 'job',
      workers: 0,
      files: [],
      output: null,
      timeout: null,
      client_request_id: null
    },
    created: '2026-01-01T10:00:00Z',
    started: null,
    finished: null,
    error: null,
    image: null,
    k8s_object: null,
    outputs: { notebook: null, folder: null, log: null, tensorboard: null },
    parent_id: null,
    events: [],
    replicas: [],
    ...extra
  };
}

describe('mergeJobs', () => {
  it('returns the same list when nothing changed', () => {
    const previous = [job('b'), job('a')];
    const next = [job('b'), job('a')];
    expect(mergeJobs(previous, next)).toBe(previous);
  });

  it('keeps the objects of unchanged jobs and takes the changed ones', () => {
    const previous = [job('b'), job('a')];
    const changed = job('b', 'succeeded');
    const merged = mergeJobs(previous, [changed, job('a')]);
    expect(merged).not.toBe(previous);
    expect(merged[0]).toBe(changed);
    expect(merged[1]).toBe(previous[1]);
  });

  it('sees changes deep inside a job', () => {
    const previous = [job('a')];
    const next = [
      job('a', 'running', {
        events: [
          { time: '2026-01-01T10:00:01Z', state: 'running', message: '' }
        ]
      })
    ];
    expect(mergeJobs(previous, next)[0]).toBe(next[0]);
  });

  it('puts a new job first and keeps the others', () => {
    const previous = [job('b'), job('a')];
    const merged = mergeJobs(previous, [
      job('c', 'queued'),
      job('b'),
      job('a')
    ]);
    expect(merged.map(j => j.id)).toEqual(['c', 'b', 'a']);
    expect(merged[1]).toBe(previous[0]);
    expect(merged[2]).toBe(previous[1]);
  });

  it('notices reordering and removal', () => {
    const previous = [job('b'), job('a')];
    const reordered = mergeJobs(previous, [job('a'), job('b')]);
    expect(reordered).not.toBe(previous);
    expect(reordered[0]).toBe(previous[1]);
    const shorter = mergeJobs(previous, [job('b')]);
    expect(shorter).toEqual([previous[0]]);
    expect(mergeJobs(previous, [])).toEqual([]);
  });
});
