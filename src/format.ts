/**
 * Pure presentation logic: durations, state tones and the timeline of a job.
 */
import type { IJob, IJobEvent, JobState } from './api';

const FINAL: ReadonlySet<JobState> = new Set([
  'succeeded',
  'failed',
  'cancelled'
]);

/**
 * Whether a job in this state can change no more.
 */
export function isFinal(state: JobState): boolean {
  return FINAL.has(state);
}

/**
 * The colour family of a state chip or timeline segment (mapped to theme
 * variables in the stylesheet).
 */
export type Tone =
  'waiting' | 'preparing' | 'active' | 'success' | 'error' | 'stopped';

export function stateTone(state: JobState): Tone {
  switch (state) {
    case 'queued':
    case 'submitted':
    case 'pending':
      return 'waiting';
    case 'building':
    case 'pushing':
      return 'preparing';
    case 'running':
      return 'active';
    case 'succeeded':
      return 'success';
    case 'failed':
      return 'error';
    case 'cancelled':
      return 'stopped';
  }
}

/**
 * Milliseconds since the epoch of an ISO-8601 time (UTC when no zone is given).
 */
export function parseTime(iso: string): number {
  const zoned = /([zZ]|[+-]\d\d:?\d\d)$/.test(iso) ? iso : `${iso}Z`;
  return Date.parse(zoned);
}

/**
 * A compact duration: `42s`, `3m 05s`, `2h 07m`, `3d 4h`.
 */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(total / 86400);
  const hours = Math.floor((total % 86400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (days > 0) {
    return `${days}d ${hours}h`;
  }
  if (hours > 0) {
    return `${hours}h ${pad(minutes)}m`;
  }
  if (minutes > 0) {
    return `${minutes}m ${pad(seconds)}s`;
  }
  return `${seconds}s`;
}

/**
 * How long a job has run (until `now` while it runs); null before it starts.
 */
export function elapsedMs(
  job: Pick<IJob, 'started' | 'finished'>,
  now: number
): number | null {
  if (!job.started) {
    return null;
  }
  const end = job.finished ? parseTime(job.finished) : now;
  return Math.max(0, end - parseTime(job.started));
}

/**
 * A time for people: `14:03:12` today, `Nov 3, 14:03` otherwise.
 */
export function formatTime(iso: string | null, now = Date.now()): string {
  if (!iso) {
    return '—';
  }
  const date = new Date(parseTime(iso));
  const today = new Date(now);
  if (date.toDateString() === today.toDateString()) {
    return date.toLocaleTimeString();
  }
  return date.toLocaleString(undefined, {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit'
  });
}

/**
 * A stretch of time a job spent in one state.
 */
export interface ITimelineSegment {
  state: JobState;
  start: number;
  end: number;
  /** Messages of the events recorded while in this state. */
  messages: string[];
}

/**
 * The states a job went through, from its events (in any order). A state
 * lasts until the next state change; the last one lasts until `now`, or is
 * an instant when the job is final.
 */
export function timelineSegments(
  events: readonly IJobEvent[],
  now: number
): ITimelineSegment[] {
  const sorted = events
    .map((event, index) => ({ event, index, time: parseTime(event.time) }))
    .sort((a, b) => a.time - b.time || a.index - b.index);
  const segments: ITimelineSegment[] = [];
  for (const { event, time } of sorted) {
    const current = segments[segments.length - 1];
    if (event.state && event.state !== current?.state) {
      if (current) {
        current.end = time;
      }
      segments.push({
        state: event.state,
        start: time,
        end: time,
        messages: []
      });
    }
    const target = segments[segments.length - 1];
    if (target && event.message) {
      target.messages.push(event.message);
    }
  }
  const last = segments[segments.length - 1];
  if (last && !isFinal(last.state)) {
    last.end = Math.max(last.start, now);
  }
  return segments;
}

/**
 * Where a segment sits on the strip, as fractions of its width.
 */
export interface ITimelineBox {
  segment: ITimelineSegment;
  x: number;
  width: number;
}

/**
 * Lay segments out along a strip: width proportional to duration, but never
 * less than `minWidth` so that short states (and the final instant) stay
 * visible and clickable.
 */
export function layoutTimeline(
  segments: readonly ITimelineSegment[],
  minWidth = 0.04
): ITimelineBox[] {
  if (segments.length === 0) {
    return [];
  }
  const floor = Math.min(minWidth, 1 / segments.length);
  const span = segments[segments.length - 1].end - segments[0].start || 1;
  const raw = segments.map(s => (s.end - s.start) / span);
  const small = raw.filter(w => w < floor).length;
  const bigTotal = raw.filter(w => w >= floor).reduce((a, b) => a + b, 0);
  const scale = bigTotal > 0 ? (1 - small * floor) / bigTotal : 0;
  let x = 0;
  return segments.map((segment, i) => {
    let width = raw[i] < floor ? floor : raw[i] * scale;
    if (bigTotal === 0) {
      width = 1 / segments.length;
    }
    const box = { segment, x, width };
    x += width;
    return box;
  });
}
