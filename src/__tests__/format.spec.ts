import type { IJobEvent } from '../api';
import {
  elapsedMs,
  formatDuration,
  isFinal,
  layoutTimeline,
  parseTime,
  stateTone,
  timelineSegments
} from '../format';

const T0 = Date.parse('2026-01-01T10:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
const event = (
  seconds: number,
  state: IJobEvent['state'],
  message = ''
): IJobEvent => ({ time: at(seconds), state, message });

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [999, '0s'],
    [42_000, '42s'],
    [65_000, '1m 05s'],
    [3_600_000 + 7 * 60_000, '1h 07m'],
    [3 * 86_400_000 + 4 * 3_600_000 + 59_000, '3d 4h'],
    [-5_000, '0s']
  ])('%d ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('parseTime', () => {
  it('reads zoned and zone-less ISO times as UTC', () => {
    expect(parseTime('2026-01-01T10:00:00Z')).toBe(T0);
    expect(parseTime('2026-01-01T10:00:00')).toBe(T0);
    expect(parseTime('2026-01-01T12:00:00+02:00')).toBe(T0);
    expect(parseTime('2026-01-01T10:00:00.000000+00:00')).toBe(T0);
  });
});

describe('elapsedMs', () => {
  it('is null before the job starts', () => {
    expect(elapsedMs({ started: null, finished: null }, T0)).toBeNull();
  });

  it('runs until now while the job runs', () => {
    expect(elapsedMs({ started: at(0), finished: null }, T0 + 90_000)).toBe(
      90_000
    );
  });

  it('stops at the finish time', () => {
    expect(elapsedMs({ started: at(0), finished: at(30) }, T0 + 999_000)).toBe(
      30_000
    );
  });
});

describe('states', () => {
  it('knows the final states', () => {
    expect(
      ['succeeded', 'failed', 'cancelled'].every(s => isFinal(s as any))
    ).toBe(true);
    expect(isFinal('running')).toBe(false);
    expect(isFinal('queued')).toBe(false);
  });

  it('gives each family of states its tone', () => {
    expect(stateTone('queued')).toBe('waiting');
    expect(stateTone('pending')).toBe('waiting');
    expect(stateTone('building')).toBe('preparing');
    expect(stateTone('running')).toBe('active');
    expect(stateTone('succeeded')).toBe('success');
    expect(stateTone('failed')).toBe('error');
    expect(stateTone('cancelled')).toBe('stopped');
  });
});

describe('timelineSegments', () => {
  it('is empty without state events', () => {
    expect(timelineSegments([], T0)).toEqual([]);
    expect(timelineSegments([event(0, null, 'note')], T0)).toEqual([]);
  });

  it('makes one segment per state change, in time order', () => {
    const segments = timelineSegments(
      [
        event(10, 'running'),
        event(0, 'queued'),
        event(4, 'pending', 'waiting for a slot'),
        event(30, 'succeeded', 'exit 0')
      ],
      T0 + 60_000
    );
    expect(
      segments.map(s => [s.state, (s.start - T0) / 1000, (s.end - T0) / 1000])
    ).toEqual([
      ['queued', 0, 4],
      ['pending', 4, 10],
      ['running', 10, 30],
      ['succeeded', 30, 30]
    ]);
    expect(segments[1].messages).toEqual(['waiting for a slot']);
    expect(segments[3].messages).toEqual(['exit 0']);
  });

  it('lets the last state of a live job run until now', () => {
    const segments = timelineSegments(
      [event(0, 'queued'), event(5, 'running')],
      T0 + 20_000
    );
    expect(segments[1].end).toBe(T0 + 20_000);
  });

  it('merges repeated states and files stateless events under the current one', () => {
    const segments = timelineSegments(
      [
        event(0, 'running', 'started'),
        event(2, null, 'epoch 1'),
        event(3, 'running', 'still running')
      ],
      T0 + 5_000
    );
    expect(segments).toHaveLength(1);
    expect(segments[0].messages).toEqual([
      'started',
      'epoch 1',
      'still running'
    ]);
  });

  it('keeps the order of events recorded at the same instant', () => {
    const segments = timelineSegments(
      [event(0, 'queued'), event(0, 'running'), event(0, 'failed')],
      T0
    );
    expect(segments.map(s => s.state)).toEqual(['queued', 'running', 'failed']);
  });
});

describe('layoutTimeline', () => {
  const segment = (state: IJobEvent['state'], start: number, end: number) => ({
    state: state!,
    start: T0 + start * 1000,
    end: T0 + end * 1000,
    messages: []
  });

  it('fills the strip in proportion to durations', () => {
    const boxes = layoutTimeline(
      [segment('queued', 0, 25), segment('running', 25, 100)],
      0
    );
    expect(boxes.map(b => [b.x, b.width])).toEqual([
      [0, 0.25],
      [0.25, 0.75]
    ]);
  });

  it('gives short states and the final instant a minimum width', () => {
    const boxes = layoutTimeline(
      [
        segment('queued', 0, 0.1),
        segment('running', 0.1, 100),
        segment('succeeded', 100, 100)
      ],
      0.05
    );
    expect(boxes[0].width).toBeCloseTo(0.05);
    expect(boxes[2].width).toBeCloseTo(0.05);
    expect(boxes[1].width).toBeCloseTo(0.9);
    const total = boxes.reduce((sum, b) => sum + b.width, 0);
    expect(total).toBeCloseTo(1);
    expect(boxes[2].x).toBeCloseTo(0.95);
  });

  it('splits the strip evenly when nothing has lasted yet', () => {
    const boxes = layoutTimeline([
      segment('queued', 0, 0),
      segment('failed', 0, 0)
    ]);
    expect(boxes.map(b => b.width)).toEqual([0.5, 0.5]);
  });
});
