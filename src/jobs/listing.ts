/**
 * What a job row shows for scanning (short id, relative start, parameters that
 * differ from the notebook's defaults, trigger) and the list's search and
 * filters that survive a reload.
 */
import type { IJob, IParameter, IRun, JobState } from '../api';
import { parseTime } from '../format';
import { parsePythonLiteral, valueToText } from '../params';

/** `j1a2b3c4d5e6` → `j1a2b3c` (enough to tell a user's jobs apart). */
export function shortId(id: string): string {
  return id.slice(0, 7);
}

/** A job's tab title: two jobs of one notebook differ by their short id. */
export function jobTitle(job: Pick<IJob, 'id' | 'name'>): string {
  return `${job.name} · ${shortId(job.id)}`;
}

/**
 * `just now`, `42s ago`, `5m ago`, `3h ago`, `2d ago` (the exact time goes
 * in the tooltip).
 */
export function relativeTime(iso: string, now = Date.now()): string {
  const seconds = Math.floor((now - parseTime(iso)) / 1000);
  if (seconds < 5) {
    return 'just now';
  }
  if (seconds < 60) {
    return `${seconds}s ago`;
  }
  if (seconds < 3600) {
    return `${Math.floor(seconds / 60)}m ago`;
  }
  if (seconds < 86400) {
    return `${Math.floor(seconds / 3600)}h ago`;
  }
  return `${Math.floor(seconds / 86400)}d ago`;
}

/** The exact local time of an ISO time, for a tooltip. */
export function exactTime(iso: string): string {
  return new Date(parseTime(iso)).toLocaleString();
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * `name=value` of the parameters whose value is not the notebook's default
 * (all of them while the defaults are unknown), in name order.
 */
export function changedParameters(
  values: Record<string, unknown>,
  defaults: readonly IParameter[] | undefined
): string[] {
  const byName = new Map((defaults ?? []).map(p => [p.name, p]));
  return Object.keys(values)
    .sort()
    .filter(name => {
      const param = byName.get(name);
      if (!defaults || !param || param.default === null) {
        return true;
      }
      const fallback = parsePythonLiteral(param.default);
      return fallback === undefined || !same(fallback, values[name]);
    })
    .map(name => `${name}=${valueToText(values[name])}`);
}

export type Trigger = 'manual' | 'rerun' | 'schedule';

/** Who started a job: a schedule's firing, a rerun, or the user. */
export function triggerOf(
  job: Pick<IJob, 'id' | 'parent_id'>,
  runsByJob: ReadonlyMap<string, Pick<IRun, 'trigger'>>
): Trigger {
  const run = runsByJob.get(job.id);
  if (run?.trigger === 'schedule' || run?.trigger === 'cronjob') {
    return 'schedule';
  }
  if (run?.trigger === 'rerun' || job.parent_id) {
    return 'rerun';
  }
  return 'manual';
}

/**
 * Whether a job matches the search text: every word is found in its name,
 * id, notebook, target, state, error or parameters.
 */
export function matchesSearch(job: IJob, text: string): boolean {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) {
    return true;
  }
  const haystack = [
    job.name,
    job.id,
    job.spec.notebook ?? '',
    job.spec.target,
    job.state,
    job.error ?? '',
    ...Object.entries(job.spec.parameters).map(
      ([k, v]) => `${k}=${valueToText(v)}`
    )
  ]
    .join('\n')
    .toLowerCase();
  return words.every(word => haystack.includes(word));
}

/** The first line of an error, for a row. */
export function failureReason(error: string | null): string {
  return (error ?? '').split('\n').find(line => line.trim()) ?? '';
}

export interface IStoredListing {
  search: string;
  states: JobState[];
  target: string;
  trigger: Trigger | '';
}

export const LISTING_KEY = 'jupyter-mlplat:job-list';

const EMPTY: IStoredListing = {
  search: '',
  states: [],
  target: '',
  trigger: ''
};

/** The job list's search and filters as last left (defaults when none). */
export function loadListing(
  storage: Pick<Storage, 'getItem'> | null = globalThis.localStorage ?? null
): IStoredListing {
  try {
    const raw = storage?.getItem(LISTING_KEY);
    if (!raw) {
      return EMPTY;
    }
    const data = JSON.parse(raw) as Partial<IStoredListing>;
    return {
      search: typeof data.search === 'string' ? data.search : '',
      states: Array.isArray(data.states) ? data.states : [],
      target: typeof data.target === 'string' ? data.target : '',
      trigger: (['manual', 'rerun', 'schedule'] as string[]).includes(
        data.trigger ?? ''
      )
        ? (data.trigger as Trigger)
        : ''
    };
  } catch {
    return EMPTY;
  }
}

export function saveListing(
  listing: IStoredListing,
  storage: Pick<Storage, 'setItem'> | null = globalThis.localStorage ?? null
): void {
  try {
    storage?.setItem(LISTING_KEY, JSON.stringify(listing));
  } catch {
    // private mode or a full quota: the filters just do not persist
  }
}
