/**
 * Job changes pushed by the server through Jupyter's event bus, and the one
 * polling primitive every view falls back to.
 *
 * The server emits an event of the `jupyter_mlplat/job` schema for each state
 * change and event of a job, each piece of new log text of a local job and
 * each save of its output notebook, numbered per server (`seq`), with a
 * heartbeat while nothing changes. Views show them as they arrive; they poll
 * the REST API only as a fallback: often while the feed is silent (the events
 * socket is down or the server pushes nothing), rarely while it is live, and
 * once right after a gap (a reconnect, a missed number, another server).
 *
 * The same feed carries the sibling schemas `jupyter_mlplat/run`, `model` and
 * `tensorboard` (a run's state, a publish, a stage change, a deployment, a
 * TensorBoard started or stopped), each numbered on its own: the runs, models
 * and TensorBoards models re-read their lists when one arrives.
 */
import type { Event } from '@jupyterlab/services';
import type { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { type ISignal, Signal } from '@lumino/signaling';

import type { JobState } from '../api';

export const JOB_SCHEMA = 'https://schema.jupyter.org/jupyter_mlplat/job/v1';
/** Sibling schemas (see `jupyter_mlplat/changes.py`), each numbered on its own. */
export const RUN_SCHEMA = 'https://schema.jupyter.org/jupyter_mlplat/run/v1';
export const MODEL_SCHEMA =
  'https://schema.jupyter.org/jupyter_mlplat/model/v1';
export const TENSORBOARD_SCHEMA =
  'https://schema.jupyter.org/jupyter_mlplat/tensorboard/v1';

/** One emission of the job schema (see `jupyter_mlplat/jobs/feed.py`). */
export interface IJobChange {
  kind: 'state' | 'event' | 'log' | 'outputs' | 'heartbeat';
  seq: number;
  server: string;
  job_id?: string;
  /** The job's state now. */
  state?: JobState;
  /** The state the event records, if it records one. */
  event_state?: JobState | null;
  message?: string;
  time?: string;
  /** log: the byte offset where `text` starts, and the one after it. */
  offset?: number;
  next_offset?: number;
  text?: string;
  notebook?: string;
}

/** A run was created, changed state or was deleted. */
export interface IRunChange {
  kind: 'created' | 'state' | 'deleted';
  seq: number;
  server: string;
  run_id: string;
  /** The run's state now (its job's, or its own before it has a job). */
  state?: string;
  job_id?: string | null;
  schedule_id?: string | null;
}

/** A version was published or staged, or a deployment applied or readier. */
export interface IModelChange {
  kind: 'published' | 'stage' | 'deployed' | 'deployment';
  seq: number;
  server: string;
  model: string;
  version?: number | null;
  stage?: string;
  ready_replicas?: number | null;
}

/** A TensorBoard was started, came up (or failed) or was stopped. */
export interface ITensorBoardChange {
  kind: 'started' | 'state' | 'stopped';
  seq: number;
  server: string;
  tensorboard_id: string;
  state?: string;
  job_id?: string | null;
}

/** Silence after which the feed counts as down (3 missed heartbeats). */
export const STALE_AFTER = 30_000;
/** How often views re-read the REST API while the feed is live (a net). */
export const LIVE_INTERVAL = 60_000;

export class JobFeed implements IDisposable {
  constructor(
    private readonly _events: Event.IManager,
    private readonly _staleAfter = STALE_AFTER
  ) {
    _events.stream.connect(this._onEmission, this);
    this._timer = window.setInterval(
      () => this._checkStale(),
      Math.min(5000, _staleAfter / 2)
    );
  }

  /** The feed of an event manager (one per manager). */
  static of(events: Event.IManager): JobFeed {
    let feed = feeds.get(events);
    if (!feed || feed.isDisposed) {
      feed = new JobFeed(events);
      feeds.set(events, feed);
    }
    return feed;
  }

  /** A job changed (never a heartbeat). */
  get changed(): ISignal<this, IJobChange> {
    return this._changed;
  }

  /** A run changed (pushed by the server). */
  get runChanged(): ISignal<this, IRunChange> {
    return this._runChanged;
  }

  /** A model, one of its versions or its deployment changed. */
  get modelChanged(): ISignal<this, IModelChange> {
    return this._modelChanged;
  }

  /** A TensorBoard started, changed state or stopped. */
  get tensorBoardChanged(): ISignal<this, ITensorBoardChange> {
    return this._tensorBoardChanged;
  }

  /** Some changes may have been missed: views read the REST API again. */
  get resync(): ISignal<this, void> {
    return this._resync;
  }

  /** The feed came up (true) or fell silent (false). */
  get liveChanged(): ISignal<this, boolean> {
    return this._liveChanged;
  }

  get live(): boolean {
    return this._live;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    window.clearInterval(this._timer);
    this._events.stream.disconnect(this._onEmission, this);
    Signal.clearData(this);
  }

  private _onEmission(_: unknown, emission: Event.Emission): void {
    const schema = emission.schema_id;
    if (!SCHEMAS.has(schema)) {
      return;
    }
    const change = emission as unknown as { seq: number; server: string };
    this._seen = Date.now();
    // Each schema is numbered on its own; the first one of a schema seen
    // from a known server is taken as it comes (nothing says what preceded).
    const last = this._seqs.get(schema);
    const gap =
      this._server !== null &&
      (change.server !== this._server ||
        (last !== undefined && change.seq !== last + 1));
    if (change.server !== this._server) {
      this._seqs.clear();
    }
    this._server = change.server;
    this._seqs.set(schema, change.seq);
    if (!this._live) {
      this._live = true;
      this._liveChanged.emit(true);
      this._resync.emit();
    } else if (gap) {
      this._resync.emit();
    }
    if (schema === RUN_SCHEMA) {
      this._runChanged.emit(emission as unknown as IRunChange);
    } else if (schema === MODEL_SCHEMA) {
      this._modelChanged.emit(emission as unknown as IModelChange);
    } else if (schema === TENSORBOARD_SCHEMA) {
      this._tensorBoardChanged.emit(emission as unknown as ITensorBoardChange);
    } else if ((change as IJobChange).kind !== 'heartbeat') {
      this._changed.emit(change as IJobChange);
    }
  }

  private _checkStale(): void {
    if (this._live && Date.now() - this._seen > this._staleAfter) {
      this._live = false;
      this._liveChanged.emit(false);
    }
  }

  private readonly _changed = new Signal<this, IJobChange>(this);
  private readonly _runChanged = new Signal<this, IRunChange>(this);
  private readonly _modelChanged = new Signal<this, IModelChange>(this);
  private readonly _tensorBoardChanged = new Signal<this, ITensorBoardChange>(
    this
  );
  private readonly _resync = new Signal<this, void>(this);
  private readonly _liveChanged = new Signal<this, boolean>(this);
  private readonly _timer: number;
  private _live = false;
  private _seen = 0;
  private _server: string | null = null;
  private readonly _seqs = new Map<string, number>();
  private _disposed = false;
}

const SCHEMAS = new Set([
  JOB_SCHEMA,
  RUN_SCHEMA,
  MODEL_SCHEMA,
  TENSORBOARD_SCHEMA
]);

const feeds = new WeakMap<Event.IManager, JobFeed>();

export interface IFallbackPollOptions {
  /** Reads the REST API; a rejection backs the poll off. */
  factory: () => Promise<unknown>;
  /** Milliseconds between reads while the feed is not live. */
  interval: number;
  feed: JobFeed | null;
  name: string;
  /** Start at once (default true). */
  auto?: boolean;
}

/**
 * The polling every view uses as its fallback: a Lumino `Poll` that backs off
 * on errors and stands by while the tab is hidden; it reads every `interval`
 * ms while the feed is silent, every `LIVE_INTERVAL` while it is live, and at
 * once when the feed comes up, falls silent or reports a gap.
 */
export function fallbackPoll(options: IFallbackPollOptions): Poll {
  const { feed } = options;
  const rate = () =>
    feed?.live ? Math.max(LIVE_INTERVAL, options.interval) : options.interval;
  const poll = new Poll({
    auto: options.auto ?? true,
    factory: () => options.factory(),
    frequency: {
      interval: rate(),
      backoff: true,
      max: Math.max(LIVE_INTERVAL, options.interval)
    },
    standby: 'when-hidden',
    name: options.name
  });
  if (feed) {
    const onLive = () => {
      poll.frequency = { ...poll.frequency, interval: rate() };
      void refreshStarted(poll);
    };
    const onResync = () => void refreshStarted(poll);
    feed.liveChanged.connect(onLive);
    feed.resync.connect(onResync);
    poll.disposed.connect(() => {
      feed.liveChanged.disconnect(onLive);
      feed.resync.disconnect(onResync);
    });
  }
  return poll;
}

/** Refresh a poll unless it has not been started yet (it reads when it is). */
export function refreshStarted(poll: Poll): Promise<void> {
  if (poll.isDisposed || poll.state.phase === 'constructed') {
    return Promise.resolve();
  }
  return poll.refresh();
}
