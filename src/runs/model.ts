/**
 * The run history and the schedules shown in the sidebar: read when the
 * server pushes a run change (a run created, its job's new state, a run
 * deleted), polled only as the fallback.
 */
import type { ISignal } from '@lumino/signaling';

import type { IRun, IRunDiff, ISchedule, MlplatApi, RunState } from '../api';
import type { IRunChange, JobFeed } from '../jobs/feed';
import { FeedModel } from '../feedModel';

/** Runs the section lists (newest first). */
export const RUNS_SHOWN = 50;

export interface IRunsModelOptions {
  api: Pick<
    MlplatApi,
    'listRuns' | 'listSchedules' | 'diffRuns' | 'updateSchedule'
  >;
  interval: number;
  feed: JobFeed | null;
  /** Emitted when a dialog here created a run or a schedule. */
  created?: ISignal<unknown, void>;
}

export class RunsModel extends FeedModel {
  constructor(options: IRunsModelOptions) {
    super({
      interval: options.interval,
      feed: options.feed,
      name: 'jupyter-mlplat:runs'
    });
    this._api = options.api;
    this._created = options.created ?? null;
    this.feed?.runChanged.connect(this._onChange, this);
    this._created?.connect(this._onCreated, this);
  }

  /** Undefined until the first answer. */
  get runs(): readonly IRun[] | undefined {
    return this._runs;
  }

  /** How many runs there are (more than `runs` may list). */
  get total(): number {
    return this._total;
  }

  get schedules(): readonly ISchedule[] | undefined {
    return this._schedules;
  }

  /** The parameters and metrics of run `b` against run `a`. */
  diff(a: string, b: string): Promise<IRunDiff> {
    return this._api.diffRuns(a, b);
  }

  /** Pause a firing schedule, resume a paused one. */
  async togglePaused(schedule: ISchedule): Promise<void> {
    await this._api.updateSchedule(schedule.id, { paused: !schedule.paused });
    await this.refresh();
  }

  protected async read(): Promise<void> {
    const [page, schedules] = await Promise.all([
      this._api.listRuns({ limit: RUNS_SHOWN }),
      this._api.listSchedules()
    ]);
    this._runs = page.runs;
    this._total = page.total;
    this._schedules = schedules.schedules;
  }

  protected disconnect(): void {
    this.feed?.runChanged.disconnect(this._onChange, this);
    this._created?.disconnect(this._onCreated, this);
  }

  private _onCreated(): void {
    this.rereadSoon();
  }

  /**
   * A listed run's new state shows at once; the lists are read again
   * (once for a burst) for what the event does not carry.
   */
  private _onChange(_: JobFeed, change: IRunChange): void {
    const runs = this._runs;
    const listed = runs?.find(run => run.id === change.run_id);
    if (
      runs &&
      listed &&
      change.kind === 'state' &&
      change.state &&
      listed.state !== change.state
    ) {
      this._runs = runs.map(run =>
        run.id === change.run_id
          ? { ...run, state: change.state as RunState }
          : run
      );
      this.emitChanged();
    }
    this.rereadSoon();
  }

  private readonly _api: IRunsModelOptions['api'];
  private readonly _created: ISignal<unknown, void> | null;
  private _runs: readonly IRun[] | undefined;
  private _total = 0;
  private _schedules: readonly ISchedule[] | undefined;
}
