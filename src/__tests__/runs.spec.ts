import type { IRun, IRunDiff } from '../api';
import {
  cronShapeError,
  diffRows,
  durationBars,
  metricRows,
  formatFireTime,
  parameterSummary,
  runTone
} from '../runs/format';
import {
  folderOf,
  formatMetrics,
  modelNameError,
  nameFromPath,
  parseMetrics
} from '../models/format';
import { valueToText } from '../params';
import { tensorBoardUrl } from '../tensorboard/url';

const run = (patch: Partial<IRun>): IRun =>
  ({
    id: 'r',
    job_id: null,
    notebook: 'nb.ipynb',
    parameters: {},
    state: 'succeeded',
    user: 'alice',
    trigger: 'manual',
    target: 'local',
    created: '2024-05-01T10:00:00Z',
    started: null,
    finished: null,
    duration: null,
    output: null,
    error: null,
    warnings: [],
    schedule_id: null,
    due_time: null,
    parent_id: null,
    ...patch
  }) as IRun;

describe('diffRows', () => {
  it('lists changed, added, removed, then unchanged parameters', () => {
    const diff: IRunDiff = {
      a: 'r1',
      b: 'r2',
      added: { seed: 1 },
      removed: { debug: true },
      changed: { lr: { a: 0.1, b: 0.01 }, epochs: { a: 3, b: 5 } },
      unchanged: { name: 'x' },
      used_a: {},
      used_b: {},
      defaulted_a: [],
      defaulted_b: [],
      metrics_a: {},
      metrics_b: {}
    };
    expect(diffRows(diff)).toEqual([
      { name: 'epochs', kind: 'changed', a: '3', b: '5' },
      { name: 'lr', kind: 'changed', a: '0.1', b: '0.01' },
      { name: 'seed', kind: 'added', a: '', b: '1' },
      { name: 'debug', kind: 'removed', a: valueToText(true), b: '' },
      {
        name: 'name',
        kind: 'unchanged',
        a: valueToText('x'),
        b: valueToText('x')
      }
    ]);
  });

  it('shows the values used, defaults marked, and metrics side by side', () => {
    const diff = {
      a: 'r1',
      b: 'r2',
      added: { lr: 0.1 },
      removed: {},
      changed: {},
      unchanged: {},
      used_a: { lr: 0.5, n: 3 },
      used_b: { lr: 0.1, n: 3 },
      defaulted_a: ['lr', 'n'],
      defaulted_b: ['n'],
      metrics_a: { auc: 0.8, loss: 0.3 },
      metrics_b: { auc: 0.9 }
    };
    expect(diffRows(diff)).toEqual([
      { name: 'lr', kind: 'added', a: '0.5', b: '0.1', defaultA: true },
      {
        name: 'n',
        kind: 'defaults',
        a: '3',
        b: '3',
        defaultA: true,
        defaultB: true
      }
    ]);
    expect(metricRows(diff)).toEqual([
      { name: 'auc', a: 0.8, b: 0.9 },
      { name: 'loss', a: 0.3, b: null }
    ]);
  });

  it('is empty for two runs without parameters', () => {
    expect(
      diffRows({
        a: 'a',
        b: 'b',
        added: {},
        removed: {},
        changed: {},
        unchanged: {}
      })
    ).toEqual([]);
  });
});

describe('run summaries', () => {
  it('shortens the parameters to one line', () => {
    expect(parameterSummary({ lr: 0.1, n: 3 })).toBe('lr=0.1, n=3');
    expect(parameterSummary({ text: 'x'.repeat(100) }, 20)).toHaveLength(20);
  });

  it('colours the scheduler states too', () => {
    expect(runTone('skipped')).toBe('stopped');
    expect(runTone('claimed')).toBe('waiting');
    expect(runTone('failed')).toBe('error');
  });

  it('draws durations relative to the longest run', () => {
    const now = Date.parse('2024-05-01T10:01:00Z');
    const bars = durationBars(
      [
        run({ duration: 10 }),
        run({ duration: 40 }),
        run({ started: '2024-05-01T10:00:40Z' }),
        run({})
      ],
      now
    );
    expect(bars).toEqual([25, 100, 50, 0]);
  });
});

describe('schedules', () => {
  it('shows a fire time in the schedule zone with the wait', () => {
    const now = Date.parse('2024-11-24T23:00:00Z');
    expect(formatFireTime('2024-11-25T05:30:00Z', 'Europe/Paris', now)).toBe(
      'Mon 25 Nov, 06:30 (in 6h 30m)'
    );
    expect(formatFireTime('2024-11-25T05:30:00Z', 'UTC', now)).toBe(
      'Mon 25 Nov, 05:30 (in 6h 30m)'
    );
  });

  it('falls back to UTC text for an unknown zone', () => {
    expect(formatFireTime('2024-11-25T05:30:00Z', 'Nowhere/City', 0)).toContain(
      '2024-11-25 05:30'
    );
  });

  it('checks the number of cron fields before asking the server', () => {
    expect(cronShapeError('0 6 * * 1-5')).toBeNull();
    expect(cronShapeError('*/5 0 6 * * 1-5')).toBeNull();
    expect(cronShapeError('')).toContain('Enter a cron expression');
    expect(cronShapeError('0 6 *')).toContain('not 3');
  });
});

describe('models', () => {
  it('parses metrics typed as name=number', () => {
    expect(parseMetrics('accuracy=0.93, loss = 0.2\nf1=1e-1')).toEqual({
      values: { accuracy: 0.93, loss: 0.2, f1: 0.1 },
      error: null
    });
    expect(parseMetrics('').values).toEqual({});
    expect(parseMetrics('accuracy').error).toContain('name=number');
    expect(parseMetrics('acc=high').error).toContain('not a number');
  });

  it('formats metrics compactly', () => {
    expect(formatMetrics({ accuracy: 0.934567, loss: 2 })).toBe(
      'accuracy 0.9346 · loss 2'
    );
  });

  it('checks names and derives one from a path', () => {
    expect(modelNameError('churn-v2.1')).toBeNull();
    expect(modelNameError('')).toContain('name');
    expect(modelNameError('a/b')).toContain('letters');
    expect(nameFromPath('work/My Model (final).ipynb')).toBe('My-Model-final');
    expect(folderOf('a/b/c.ipynb')).toBe('a/b');
    expect(folderOf('c.ipynb')).toBe('');
  });
});

describe('tensorBoardUrl', () => {
  it('keeps the absolute path the server gives', () => {
    expect(
      tensorBoardUrl(
        { id: 'x', url: '/base/jupyter-mlplat/tensorboard/x/' },
        '/base/'
      )
    ).toBe('/base/jupyter-mlplat/tensorboard/x/');
  });

  it('builds the proxy path otherwise', () => {
    expect(tensorBoardUrl({ id: 'a b', url: '' }, '/base/')).toBe(
      '/base/jupyter-mlplat/tensorboard/a%20b/'
    );
  });
});
