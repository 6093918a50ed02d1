/**
 * The job list shown in the sidebar: updated as the server pushes job changes
 * (polled as a fallback), diff-updated, filtered.
 */
import { Debouncer, type Poll } from '@lumino/polling';
import { type ISignal, Signal } from '@lumino/signaling';

import type { IJob, IRun, JobState, MlplatApi } from '../api';
import {
  fallbackPoll,
  type IFallbackPollOptions,
  type IJobChange,
  type JobFeed,
  refreshStarted
} from './feed';
import { mergeJobs } from './merge';

/**
 * The count of a listing for a header: `1,234`, or `10,000+` when the server
 * counted up to its cap and `total` is only a lower bound.
 */
export function countLabel(total: number, exact: boolean): string {
  return exact
    ? total.toLocaleString('en-US')
    : `${total.toLocaleString('en-US')}+`;
}

/** How many runs are read to tell each listed job's trigger (run, rerun, schedule). */
const RUNS_READ = 500;

export interface IJobFilter {
  /** Empty: every state. */
  states: JobState[];
  /** Empty: every target. */
  target: string;
}

export class JobsModel {
  constructor(
    private readonly _api: MlplatApi,
    interval: number,
    private readonly _feed: JobFeed | null = null
  ) {
    this._pollOptions = {
      auto: false,
      factory: () => this._fetch(),
      interval,
      feed: _feed,
      name: 'jupyter-mlplat:jobs'
    };
    this._poll = fallbackPoll(this._pollOptions);
    this._reread = new Debouncer(() => refreshStarted(this._poll), 50);
    _feed?.changed.connect(this._onChange, this);
  }

  /** Emitted when the jobs, the total, the filter or the error changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get jobs(): readonly IJob[] {
    return this._jobs;
  }

  /** The run each listed job belongs to, by job id (jobs submitted alone have none). */
  get runsByJob(): ReadonlyMap<string, IRun> {
    return this._runsByJob;
  }

  get total(): number {
    return this._total;
  }

  /** Whether `total` is exact (else the server's count stopped at its cap). */
  get totalExact(): boolean {
    return this._totalExact;
  }

  get error(): string | null {
    return this._error;
  }

  get filter(): IJobFilter {
    return this._filter;
  }

  /** Whether a first answer came (to tell "loading" from "no jobs"). */
  get loaded(): boolean {
    return this._loaded;
  }

  set interval(interval: number) {
    this._pollOptions.interval = interval;
    if (!this._feed?.live) {
      this._poll.frequency = { ...this._poll.frequency, interval };
    }
  }

  setFilter(filter: IJobFilter): void {
    this._filter = filter;
    this._changed.emit();
    void this.refresh();
  }

  /** Start polling (once the server is known to answer). */
  start(): Promise<void> {
    return this._poll.start();
  }

  refresh(): Promise<void> {
    return this._poll.refresh();
  }

  dispose(): void {
    this._feed?.changed.disconnect(this._onChange, this);
    this._reread.dispose();
    this._poll.dispose();
    Signal.clearData(this);
  }

  /**
   * A pushed change: a listed job's new state shows at once; the list is read
   * again (shortly, once for a burst) for what the event does not carry.
   */
  private _onChange(_: JobFeed, change: IJobChange): void {
    if (change.kind !== 'state' && change.kind !== 'event') {
      return;
    }
    const { job_id: id, state } = change;
    const listed = this._jobs.find(job => job.id === id);
    if (listed && state && listed.state !== state) {
      this._jobs = this._jobs.map(job =>
        job.id === id ? { ...job, state } : job
      );
      this._changed.emit();
    }
    void this._reread.invoke();
  }

  private async _fetch(): Promise<void> {
    const filter = this._filter;
    try {
      const [page, runs] = await Promise.all([
        this._api.listJobs({
          state: filter.states.length ? filter.states : undefined,
          target: filter.target || undefined,
          limit: 100
        }),
        this._api.listRuns({ limit: RUNS_READ })
      ]);
      if (filter !== this._filter) {
        return;
      }
      const jobs = mergeJobs(this._jobs, page.jobs);
      const runsByJob = new Map(
        runs.runs
          .filter(run => run.job_id)
          .map(run => [run.job_id as string, run])
      );
      const changed =
        jobs !== this._jobs ||
        !sameRuns(runsByJob, this._runsByJob) ||
        page.total !== this._total ||
        page.total_exact !== this._totalExact ||
        this._error !== null ||
        !this._loaded;
      this._jobs = jobs;
      this._runsByJob = runsByJob;
      this._total = page.total;
      this._totalExact = page.total_exact;
      this._error = null;
      this._loaded = true;
      if (changed) {
        this._changed.emit();
      }
    } catch (error) {
      const message = (error as Error).message;
      if (message !== this._error) {
        this._error = message;
        this._changed.emit();
      }
      throw error;
    }
  }

  private readonly _poll: Poll;
  private readonly _pollOptions: IFallbackPollOptions;
  private readonly _reread: Debouncer;
  private readonly _changed = new Signal<this, void>(this);
  private _jobs: readonly IJob[] = [];
  private _runsByJob: ReadonlyMap<string, IRun> = new Map();
  private _total = 0;
  private _totalExact = true;
  private _error: string | null = null;
  private _loaded = false;
  private _filter: IJobFilter = { states: [], target: '' };
}

/** Whether two job -> run maps name the same runs with the same triggers. */
function sameRuns(
  a: ReadonlyMap<string, IRun>,
  b: ReadonlyMap<string, IRun>
): boolean {
  if (a.size !== b.size) {
    return false;
  }
  for (const [jobId, run] of a) {
    const other = b.get(jobId);
    if (!other || other.id !== run.id || other.trigger !== run.trigger) {
      return false;
    }
  }
  return true;
}
