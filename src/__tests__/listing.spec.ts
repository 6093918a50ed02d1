import type { IJob, IParameter } from '../api';
import {
  changedParameters,
  jobTitle,
  loadListing,
  matchesSearch,
  relativeTime,
  saveListing,
  shortId,
  triggerOf
} from '../jobs/listing';

const param = (name: string, value: string): IParameter => ({
  name,
  inferred_type_name: 'None',
  default: value,
  help: ''
});

function job(id: string, parameters: Record<string, unknown>): IJob {
  return {
    id,
    name: 'train',
    user: 'alice',
    state: 'failed',
    spec: {
      notebook: 'nb/train.ipynb',
      code: null,
      name: null,
      parameters,
      target: 'local',
      runtime: null,
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
    error: 'ValueError: lr must be positive\nTraceback ...',
    image: null,
    k8s_object: null,
    outputs: { notebook: null, folder: null, log: null, tensorboard: null },
    parent_id: null,
    events: [],
    replicas: []
  } as IJob;
}

describe('the job list', () => {
  it('tells two jobs of one notebook apart by a short id', () => {
    const a = job('j1a2b3c4d5e6', {});
    const b = job('j9f8e7d6c5b4', {});
    expect(shortId(a.id)).toHaveLength(7);
    expect(jobTitle(a)).not.toEqual(jobTitle(b));
    expect(jobTitle(a)).toBe('train · j1a2b3c');
  });

  it('says how long ago a job started', () => {
    const t0 = Date.parse('2026-01-01T10:00:00Z');
    expect(relativeTime('2026-01-01T10:00:00Z', t0 + 2_000)).toBe('just now');
    expect(relativeTime('2026-01-01T10:00:00Z', t0 + 42_000)).toBe('42s ago');
    expect(relativeTime('2026-01-01T10:00:00Z', t0 + 5 * 60_000)).toBe(
      '5m ago'
    );
    expect(relativeTime('2026-01-01T10:00:00Z', t0 + 3 * 3_600_000)).toBe(
      '3h ago'
    );
    expect(relativeTime('2026-01-01T10:00:00', t0 + 2 * 86_400_000)).toBe(
      '2d ago'
    );
  });

  it('shows only the parameters that differ from the notebook defaults', () => {
    const defaults = [
      param('lr', '0.5'),
      param('n', '3'),
      param('msg', "'hi'"),
      param('flag', 'True')
    ];
    expect(
      changedParameters(
        { lr: 0.1, n: 3, msg: 'hi', flag: false, extra: [1] },
        defaults
      )
    ).toEqual(['extra=[1]', 'flag=false', 'lr=0.1']);
    // Unknown defaults (still loading): every value shows.
    expect(changedParameters({ n: 3 }, undefined)).toEqual(['n=3']);
  });

  it('names the trigger of a job', () => {
    const runs = new Map([
      ['j1', { trigger: 'schedule' as const }],
      ['j2', { trigger: 'rerun' as const }],
      ['j3', { trigger: 'cronjob' as const }]
    ]);
    expect(triggerOf({ id: 'j1', parent_id: null }, runs)).toBe('schedule');
    expect(triggerOf({ id: 'j2', parent_id: null }, runs)).toBe('rerun');
    expect(triggerOf({ id: 'j3', parent_id: null }, runs)).toBe('schedule');
    expect(triggerOf({ id: 'j4', parent_id: 'j1' }, runs)).toBe('rerun');
    expect(triggerOf({ id: 'j5', parent_id: null }, runs)).toBe('manual');
  });

  it('searches every word in name, id, parameters and error', () => {
    const a = job('j1a2b3c4d5e6', { lr: 0.1 });
    expect(matchesSearch(a, '')).toBe(true);
    expect(matchesSearch(a, 'train lr=0.1')).toBe(true);
    expect(matchesSearch(a, 'J1A2')).toBe(true);
    expect(matchesSearch(a, 'positive')).toBe(true);
    expect(matchesSearch(a, 'train lr=0.2')).toBe(false);
  });

  it('keeps the search and filters across a reload', () => {
    const store = new Map<string, string>();
    const storage = {
      getItem: (k: string) => store.get(k) ?? null,
      setItem: (k: string, v: string) => void store.set(k, v)
    };
    expect(loadListing(storage)).toEqual({
      search: '',
      states: [],
      target: '',
      trigger: ''
    });
    saveListing(
      { search: 'lr', states: ['failed'], target: 'local', trigger: 'rerun' },
      storage
    );
    expect(loadListing(storage)).toEqual({
      search: 'lr',
      states: ['failed'],
      target: 'local',
      trigger: 'rerun'
    });
    store.set('jupyter-mlplat:job-list', '{not json');
    expect(loadListing(storage).search).toBe('');
  });
});
