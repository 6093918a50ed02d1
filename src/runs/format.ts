/**
 * Pure presentation logic of runs and schedules: parameter diffs, summaries,
 * duration bars, fire times in a schedule's zone.
 */
import type { IRun, IRunDiff, JobState, RunState } from '../api';
import { formatDuration, parseTime, stateTone, type Tone } from '../format';
import { valueToText } from '../params';

export type DiffKind =
  'changed' | 'added' | 'removed' | 'unchanged' | 'defaults';

export interface IDiffRow {
  name: string;
  /** Of the given parameters; `defaults` when neither run gave it. */
  kind: DiffKind;
  /** The value run a ran with (empty when unknown). */
  a: string;
  /** The value run b ran with (empty when unknown). */
  b: string;
  /** Run a took the notebook's default (not given). */
  defaultA?: true;
  defaultB?: true;
}

const KIND_ORDER: DiffKind[] = [
  'changed',
  'added',
  'removed',
  'unchanged',
  'defaults'
];

type DiffInput = Pick<
  IRunDiff,
  'a' | 'b' | 'changed' | 'added' | 'removed' | 'unchanged'
> &
  Partial<Pick<IRunDiff, 'used_a' | 'used_b' | 'defaulted_a' | 'defaulted_b'>>;

/**
 * One row per parameter with the values each run used (the notebook's
 * default where one was not given): what changed first, then added, removed,
 * same, defaults of both; by name within each group.
 */
export function diffRows(diff: DiffInput): IDiffRow[] {
  const rows: IDiffRow[] = [];
  const usedA = diff.used_a ?? {};
  const usedB = diff.used_b ?? {};
  const defaultedA = new Set(diff.defaulted_a ?? []);
  const defaultedB = new Set(diff.defaulted_b ?? []);
  const given = new Set([
    ...Object.keys(diff.changed),
    ...Object.keys(diff.added),
    ...Object.keys(diff.removed),
    ...Object.keys(diff.unchanged)
  ]);
  const fill = (row: IDiffRow): IDiffRow => {
    if (!row.a && row.name in usedA) {
      row.a = valueToText(usedA[row.name]);
    }
    if (!row.b && row.name in usedB) {
      row.b = valueToText(usedB[row.name]);
    }
    if (defaultedA.has(row.name)) {
      row.defaultA = true;
    }
    if (defaultedB.has(row.name)) {
      row.defaultB = true;
    }
    return row;
  };
  for (const name of new Set([...Object.keys(usedA), ...Object.keys(usedB)])) {
    if (!given.has(name)) {
      rows.push(fill({ name, kind: 'defaults', a: '', b: '' }));
    }
  }
  for (const [name, change] of Object.entries(diff.changed)) {
    rows.push({
      name,
      kind: 'changed',
      a: valueToText(change.a),
      b: valueToText(change.b)
    });
  }
  for (const [name, value] of Object.entries(diff.added)) {
    rows.push(fill({ name, kind: 'added', a: '', b: valueToText(value) }));
  }
  for (const [name, value] of Object.entries(diff.removed)) {
    rows.push(fill({ name, kind: 'removed', a: valueToText(value), b: '' }));
  }
  for (const [name, value] of Object.entries(diff.unchanged)) {
    const text = valueToText(value);
    rows.push({ name, kind: 'unchanged', a: text, b: text });
  }
  return rows.sort(
    (x, y) =>
      KIND_ORDER.indexOf(x.kind) - KIND_ORDER.indexOf(y.kind) ||
      x.name.localeCompare(y.name)
  );
}

export interface IMetricRow {
  name: string;
  a: number | null;
  b: number | null;
}

/**
 * The metrics of two runs side by side (from each job's `metrics.json`), by
 * name; null where a run wrote none of that name.
 */
export function metricRows(
  diff: Partial<Pick<IRunDiff, 'metrics_a' | 'metrics_b'>>
): IMetricRow[] {
  const a = diff.metrics_a ?? {};
  const b = diff.metrics_b ?? {};
  return [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .sort()
    .map(name => ({ name, a: a[name] ?? null, b: b[name] ?? null }));
}

/**
 * `lr=0.1, epochs=3` — the parameters in one short line.
 */
export function parameterSummary(
  parameters: Record<string, unknown>,
  max = 60
): string {
  const text = Object.entries(parameters)
    .map(([name, value]) => `${name}=${valueToText(value)}`)
    .join(', ');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * The chip colour of a run state (a run is its job's state, plus the
 * scheduler's own `claimed` and `skipped`).
 */
export function runTone(state: RunState): Tone {
  if (state === 'claimed') {
    return 'waiting';
  }
  if (state === 'skipped') {
    return 'stopped';
  }
  return stateTone(state as JobState);
}

/**
 * Seconds a run took (or has taken so far).
 */
export function runSeconds(run: IRun, now = Date.now()): number | null {
  if (run.duration !== null) {
    return run.duration;
  }
  if (run.started) {
    const end = run.finished ? parseTime(run.finished) : now;
    return Math.max(0, (end - parseTime(run.started)) / 1000);
  }
  return null;
}

/**
 * Bar widths (0–100 %) of the runs' durations, relative to the longest;
 * a run that has not started gets 0.
 */
export function durationBars(
  runs: readonly IRun[],
  now = Date.now()
): number[] {
  const seconds = runs.map(run => runSeconds(run, now) ?? 0);
  const longest = Math.max(0, ...seconds);
  return seconds.map(s =>
    longest > 0 && s > 0 ? Math.max(2, Math.round((s / longest) * 100)) : 0
  );
}

export function formatSeconds(seconds: number | null): string {
  return seconds === null ? '—' : formatDuration(seconds * 1000);
}

/**
 * A fire time in the schedule's zone with the wait before it:
 * `Tue 25 Nov, 06:00 (in 6h 40m)`.
 */
export function formatFireTime(
  iso: string,
  timeZone: string,
  now = Date.now()
): string {
  const when = parseTime(iso);
  let text: string;
  try {
    text = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      weekday: 'short',
      day: 'numeric',
      month: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hour12: false
    }).format(new Date(when));
  } catch {
    text = new Date(when).toISOString().replace('T', ' ').slice(0, 16);
  }
  const wait = when - now;
  const relative =
    wait >= 0 ? `in ${formatDuration(wait)}` : `${formatDuration(-wait)} ago`;
  return `${text} (${relative})`;
}

/**
 * What is wrong with a cron expression before asking the server (which
 * checks the rest): the number of fields.
 */
export function cronShapeError(cron: string): string | null {
  const fields = cron.trim().split(/\s+/).filter(Boolean);
  if (fields.length === 0) {
    return 'Enter a cron expression, e.g. 0 6 * * 1-5';
  }
  if (fields.length < 5 || fields.length > 6) {
    return `A cron expression has 5 fields (minute hour day month weekday), not ${fields.length}`;
  }
  return null;
}

/**
 * The time zones the browser knows (the user's own first), for the picker.
 */
export function timeZones(): string[] {
  const own = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const intl = Intl as unknown as {
    supportedValuesOf?: (key: string) => string[];
  };
  const all = intl.supportedValuesOf?.('timeZone') ?? [];
  return [...new Set(['UTC', own, ...all])];
}
