/**
 * The job list shown in the sidebar: polled, diff-updated, filtered.
 */
import { Poll } from '@lumino/polling';
import { type ISignal, Signal } from '@lumino/signaling';

import type { IJob, JobState, MlplatApi } from '../api';
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

export interface IJobFilter {
  /** Empty: every state. */
  states: JobState[];
  /** Empty: every target. */
  target: string;
}

export class JobsModel {
  constructor(
    private readonly _api: MlplatApi,
    interval: number
  ) {
    this._poll = new Poll({
      auto: false,
      factory: () => this._fetch(),
      frequency: { interval, backoff: true, max: 60_000 },
      standby: 'when-hidden',
      name: 'jupyter-mlplat:jobs'
    });
  }

  /** Emitted when the jobs, the total, the filter or the error changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get jobs(): readonly IJob[] {
    return this._jobs;
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
    this._poll.frequency = { ...this._poll.frequency, interval };
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
    this._poll.dispose();
    Signal.clearData(this);
  }

  private async _fetch(): Promise<void> {
    const filter = this._filter;
    try {
      const page = await this._api.listJobs({
        state: filter.states.length ? filter.states : undefined,
        target: filter.target || undefined,
        limit: 100
      });
      if (filter !== this._filter) {
        return;
      }
      const jobs = mergeJobs(this._jobs, page.jobs);
      const changed =
        jobs !== this._jobs ||
        page.total !== this._total ||
        page.total_exact !== this._totalExact ||
        this._error !== null ||
        !this._loaded;
      this._jobs = jobs;
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
  private readonly _changed = new Signal<this, void>(this);
  private _jobs: readonly IJob[] = [];
  private _total = 0;
  private _totalExact = true;
  private _error: string | null = null;
  private _loaded = false;
  private _filter: IJobFilter = { states: [], target: '' };
}
