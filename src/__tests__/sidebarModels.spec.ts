import type { Event } from '@jupyterlab/services';
import { Signal, Stream } from '@lumino/signaling';

import type {
  IDeployment,
  IModelSummary,
  IModelVersion,
  IRun,
  ISchedule,
  ITensorBoard
} from '../api';
import {
  JOB_SCHEMA,
  JobFeed,
  MODEL_SCHEMA,
  RUN_SCHEMA,
  TENSORBOARD_SCHEMA,
  type IModelChange,
  type IRunChange,
  type ITensorBoardChange
} from '../jobs/feed';
import { ModelsModel } from '../models/model';
import { RunsModel } from '../runs/model';
import { TensorBoardsModel } from '../tensorboard/model';

/** An event manager whose stream the test emits into. */
function fakeEvents(): {
  events: Event.IManager;
  emit: (schema: string, data: Record<string, unknown>) => void;
} {
  const owner = {} as Event.IManager;
  const stream = new Stream<Event.IManager, Event.Emission>(owner);
  Object.assign(owner, { stream, isDisposed: false });
  return {
    events: owner,
    emit: (schema, data) =>
      stream.emit({ schema_id: schema, ...data } as Event.Emission)
  };
}

/** Resolve once `check()` holds (real timers; fails after 2 s). */
async function until(check: () => boolean, what = 'condition'): Promise<void> {
  const end = Date.now() + 2000;
  while (!check()) {
    if (Date.now() > end) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise(resolve => setTimeout(resolve, 5));
  }
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

function run(id: string, state: IRun['state']): IRun {
  return { id, state, notebook: 'a.ipynb' } as IRun;
}

describe('JobFeed with the sibling schemas', () => {
  it('passes run, model and TensorBoard changes on their own signals', () => {
    const { events, emit } = fakeEvents();
    const feed = new JobFeed(events);
    const runs: IRunChange[] = [];
    const models: IModelChange[] = [];
    const boards: ITensorBoardChange[] = [];
    let jobs = 0;
    feed.runChanged.connect((_, c) => runs.push(c));
    feed.modelChanged.connect((_, c) => models.push(c));
    feed.tensorBoardChanged.connect((_, c) => boards.push(c));
    feed.changed.connect(() => jobs++);
    emit(MODEL_SCHEMA, { kind: 'published', seq: 1, server: 'a', model: 'm' });
    emit(RUN_SCHEMA, { kind: 'state', seq: 1, server: 'a', run_id: 'r1' });
    emit(TENSORBOARD_SCHEMA, {
      kind: 'started',
      seq: 1,
      server: 'a',
      tensorboard_id: 't'
    });
    expect(models.map(c => c.model)).toEqual(['m']);
    expect(runs.map(c => c.run_id)).toEqual(['r1']);
    expect(boards.map(c => c.tensorboard_id)).toEqual(['t']);
    expect(jobs).toBe(0);
    expect(feed.live).toBe(true);
    feed.dispose();
  });

  it('numbers each schema on its own: interleaved is no gap, a skip is', () => {
    const { events, emit } = fakeEvents();
    const feed = new JobFeed(events);
    emit(JOB_SCHEMA, { kind: 'heartbeat', seq: 5, server: 'a' });
    let resyncs = 0;
    feed.resync.connect(() => resyncs++);
    emit(MODEL_SCHEMA, { kind: 'published', seq: 1, server: 'a', model: 'm' });
    emit(JOB_SCHEMA, { kind: 'event', seq: 6, server: 'a', job_id: 'j' });
    emit(MODEL_SCHEMA, { kind: 'stage', seq: 2, server: 'a', model: 'm' });
    expect(resyncs).toBe(0);
    emit(MODEL_SCHEMA, { kind: 'stage', seq: 4, server: 'a', model: 'm' });
    expect(resyncs).toBe(1);
    emit(RUN_SCHEMA, { kind: 'state', seq: 1, server: 'b', run_id: 'r' });
    expect(resyncs).toBe(2);
    feed.dispose();
  });
});

describe('RunsModel', () => {
  function setup() {
    const { events, emit } = fakeEvents();
    const feed = new JobFeed(events);
    const calls = { runs: 0, schedules: 0, paused: [] as boolean[] };
    let runs = [run('r2', 'running'), run('r1', 'succeeded')];
    let fail: string | null = null;
    const created = new Signal<object, void>({});
    const api = {
      listRuns: async () => {
        calls.runs++;
        if (fail) {
          throw new Error(fail);
        }
        return { runs, total: 7, limit: 50, offset: 0 };
      },
      listSchedules: async () => {
        calls.schedules++;
        return {
          schedules: [{ id: 's1', paused: false } as ISchedule]
        };
      },
      diffRuns: async () => {
        throw new Error('not used');
      },
      updateSchedule: async (_: string, change: { paused?: boolean }) => {
        calls.paused.push(!!change.paused);
        return {} as ISchedule;
      }
    };
    const model = new RunsModel({
      api: api as any,
      interval: 60_000,
      feed,
      created
    });
    return {
      model,
      feed,
      emit,
      calls,
      created,
      setRuns: (next: IRun[]) => (runs = next),
      setFail: (message: string | null) => (fail = message)
    };
  }

  it('reads runs and schedules once started, not before', async () => {
    const { model, calls } = setup();
    await model.refresh();
    await sleep(20);
    expect(calls.runs).toBe(0);
    expect(model.loaded).toBe(false);
    await model.start();
    await until(() => model.loaded, 'the first read');
    expect(model.runs?.map(r => r.id)).toEqual(['r2', 'r1']);
    expect(model.total).toBe(7);
    expect(model.schedules?.map(s => s.id)).toEqual(['s1']);
    expect(calls.schedules).toBe(1);
    model.dispose();
  });

  it('shows a pushed state at once and reads once for a burst', async () => {
    const { model, emit, calls, setRuns } = setup();
    await model.start();
    await until(() => model.loaded);
    const before = calls.runs;
    let changes = 0;
    model.changed.connect(() => changes++);
    emit(RUN_SCHEMA, {
      kind: 'state',
      seq: 1,
      server: 'a',
      run_id: 'r2',
      state: 'succeeded'
    });
    expect(model.runs?.[0].state).toBe('succeeded');
    expect(changes).toBe(1);
    setRuns([run('r3', 'queued'), run('r2', 'succeeded'), run('r1', 'failed')]);
    for (let seq = 2; seq < 6; seq++) {
      emit(RUN_SCHEMA, {
        kind: 'created',
        seq,
        server: 'a',
        run_id: 'r3',
        state: 'queued'
      });
    }
    await until(() => model.runs?.length === 3, 'the re-read');
    await sleep(100);
    // one read for the first push's debounce window (going live reads too)
    expect(calls.runs - before).toBeLessThanOrEqual(3);
    expect(model.runs?.map(r => r.id)).toEqual(['r3', 'r2', 'r1']);
    model.dispose();
  });

  it('reads again when a dialog created a run or schedule', async () => {
    const { model, calls, created } = setup();
    await model.start();
    await until(() => model.loaded);
    const before = calls.runs;
    created.emit();
    await until(() => calls.runs === before + 1, 'the read after a dialog');
    model.dispose();
  });

  it('keeps the error of a failed read until one succeeds', async () => {
    const { model, setFail } = setup();
    setFail('server down');
    await model.start();
    await until(() => model.error === 'server down', 'the error');
    expect(model.loaded).toBe(false);
    setFail(null);
    await model.refresh();
    await until(() => model.error === null && model.loaded, 'recovery');
    model.dispose();
  });

  it('pauses a schedule through the API and reads again', async () => {
    const { model, calls } = setup();
    await model.start();
    await until(() => model.loaded);
    const before = calls.schedules;
    await model.togglePaused({ id: 's1', paused: false } as ISchedule);
    expect(calls.paused).toEqual([true]);
    await until(() => calls.schedules === before + 1);
    model.dispose();
  });

  it('stops listening once disposed', async () => {
    const { model, emit, calls } = setup();
    await model.start();
    await until(() => model.loaded);
    model.dispose();
    const before = calls.runs;
    emit(RUN_SCHEMA, { kind: 'state', seq: 1, server: 'a', run_id: 'r2' });
    await sleep(100);
    expect(calls.runs).toBe(before);
    expect(model.isDisposed).toBe(true);
  });
});

describe('ModelsModel', () => {
  function setup() {
    const { events, emit } = fakeEvents();
    const feed = new JobFeed(events);
    const calls = { list: 0, versions: [] as string[], deployments: 0 };
    let models: IModelSummary[] = [
      { name: 'a', deployed: false } as IModelSummary,
      { name: 'b', deployed: true } as IModelSummary
    ];
    const staged: [string, number, string][] = [];
    const api = {
      listModels: async () => {
        calls.list++;
        return { models, store: 'file:///store' };
      },
      listVersions: async (name: string) => {
        calls.versions.push(name);
        return {
          name,
          versions: [{ version: 1, stage: 'none' } as IModelVersion]
        };
      },
      getDeployment: async () => {
        calls.deployments++;
        return { serving_version: 1 } as IDeployment;
      },
      setStage: async (name: string, version: number, stage: string) => {
        staged.push([name, version, stage]);
        return {} as IModelVersion;
      }
    };
    const model = new ModelsModel({ api: api as any, interval: 60_000, feed });
    return {
      model,
      emit,
      calls,
      staged,
      setModels: (next: IModelSummary[]) => (models = next)
    };
  }

  it('shows a publish pushed by the server without waiting for a poll', async () => {
    const { model, emit, setModels } = setup();
    await model.start();
    await until(() => model.loaded);
    expect(model.models?.map(m => m.name)).toEqual(['a', 'b']);
    expect(model.store).toBe('file:///store');
    setModels([
      { name: 'a', deployed: false } as IModelSummary,
      { name: 'b', deployed: true } as IModelSummary,
      { name: 'c', deployed: false } as IModelSummary
    ]);
    const pushed = Date.now();
    emit(MODEL_SCHEMA, {
      kind: 'published',
      seq: 1,
      server: 'a',
      model: 'c',
      version: 1
    });
    await until(() => model.models?.length === 3, 'the publish');
    // the poll's interval is a minute: the push made it
    expect(Date.now() - pushed).toBeLessThan(1000);
    model.dispose();
  });

  it('reads an opened model’s versions, its deployment only if deployed', async () => {
    const { model, emit, calls } = setup();
    await model.start();
    await until(() => model.loaded);
    await model.open('a');
    expect(model.detail('a')?.versions?.map(v => v.version)).toEqual([1]);
    expect(model.detail('a')?.deployment).toBeNull();
    expect(calls.deployments).toBe(0);
    await model.open('b');
    expect(model.detail('b')?.deployment?.serving_version).toBe(1);
    expect(calls.deployments).toBe(1);
    model.close('a');
    expect(model.detail('a')).toBeUndefined();
    calls.versions.length = 0;
    emit(MODEL_SCHEMA, {
      kind: 'deployment',
      seq: 1,
      server: 'a',
      model: 'b',
      ready_replicas: 1
    });
    await until(() => calls.versions.length > 0, 'the re-read');
    await sleep(50);
    expect(new Set(calls.versions)).toEqual(new Set(['b']));
    model.dispose();
  });

  it('moves a stage through the API and reads again', async () => {
    const { model, calls, staged } = setup();
    await model.start();
    await until(() => model.loaded);
    const before = calls.list;
    await model.setStage('a', 1, 'production');
    expect(staged).toEqual([['a', 1, 'production']]);
    await until(() => calls.list === before + 1);
    model.dispose();
  });
});

describe('TensorBoardsModel', () => {
  function setup() {
    const { events, emit } = fakeEvents();
    const feed = new JobFeed(events);
    const calls = { list: 0, stopped: [] as string[] };
    let boards = [
      { id: 't1', state: 'running' } as ITensorBoard,
      { id: 't2', state: 'starting' } as ITensorBoard
    ];
    const opened = new Signal<object, void>({});
    const api = {
      listTensorBoards: async () => {
        calls.list++;
        return { tensorboards: boards };
      },
      stopTensorBoard: async (id: string) => {
        calls.stopped.push(id);
        boards = boards.filter(b => b.id !== id);
      }
    };
    const model = new TensorBoardsModel({
      api: api as any,
      interval: 60_000,
      feed,
      opened
    });
    return { model, emit, calls, opened };
  }

  it('drops a stopped TensorBoard at once', async () => {
    const { model, calls } = setup();
    await model.start();
    await until(() => model.loaded);
    await model.stop('t1');
    expect(calls.stopped).toEqual(['t1']);
    expect(model.tensorboards?.map(b => b.id)).toEqual(['t2']);
    model.dispose();
  });

  it('reads again on a push and when one was opened here', async () => {
    const { model, emit, calls, opened } = setup();
    await model.start();
    await until(() => model.loaded);
    let before = calls.list;
    emit(TENSORBOARD_SCHEMA, {
      kind: 'state',
      seq: 1,
      server: 'a',
      tensorboard_id: 't2',
      state: 'running'
    });
    await until(() => calls.list > before, 'the read after a push');
    await sleep(80);
    before = calls.list;
    opened.emit();
    await until(() => calls.list === before + 1, 'the read after an open');
    model.dispose();
  });
});
