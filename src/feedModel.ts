/**
 * The base of the sidebar's list models (runs, models, TensorBoards): one
 * place that loads a list, re-reads it as soon as the server pushes a change
 * that concerns it, and polls only as the fallback (the views' one
 * `fallbackPoll`: backs off on errors, stands by while the tab is hidden,
 * rare while the feed is live). Components render its state and call its
 * public methods; they fetch nothing themselves.
 */
import { Debouncer, type Poll } from '@lumino/polling';
import { type ISignal, Signal } from '@lumino/signaling';

import {
  fallbackPoll,
  type IFallbackPollOptions,
  type JobFeed,
  refreshStarted
} from './jobs/feed';

/** Pushed changes that come in a burst are read once, this long after. */
export const REREAD_DELAY = 50;

export interface IFeedModelOptions {
  /** Milliseconds between reads while the feed is silent. */
  interval: number;
  feed: JobFeed | null;
  /** The poll's name (for debugging). */
  name: string;
}

export abstract class FeedModel {
  constructor(options: IFeedModelOptions) {
    this.feed = options.feed;
    this._pollOptions = {
      auto: false,
      factory: () => this._read(),
      interval: options.interval,
      feed: options.feed,
      name: options.name
    };
    this._poll = fallbackPoll(this._pollOptions);
    this._reread = new Debouncer(() => this.refresh(), REREAD_DELAY);
  }

  /** Emitted when what the model holds (or its error) changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The last read's error, null once a read succeeds. */
  get error(): string | null {
    return this._error;
  }

  /** Whether a first answer came (to tell "loading" from "none"). */
  get loaded(): boolean {
    return this._loaded;
  }

  get isDisposed(): boolean {
    return this._poll.isDisposed;
  }

  /** The fallback poll's interval while the feed is silent. */
  set interval(interval: number) {
    this._pollOptions.interval = interval;
    if (!this.feed?.live) {
      this._poll.frequency = { ...this._poll.frequency, interval };
    }
  }

  /** Read now and poll from now on (once the server is known to answer). */
  start(): Promise<void> {
    return this._poll.start();
  }

  /** Read now (a no-op before `start`): after an action or a pushed change. */
  refresh(): Promise<void> {
    return refreshStarted(this._poll);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.disconnect();
    this._reread.dispose();
    this._poll.dispose();
    Signal.clearData(this);
  }

  /** Read what the model holds (throw to report an error). */
  protected abstract read(): Promise<void>;

  /** Disconnect from the feed (called once, on dispose). */
  protected abstract disconnect(): void;

  /** Read again shortly (once for a burst of pushed changes). */
  protected rereadSoon(): void {
    void this._reread.invoke();
  }

  protected emitChanged(): void {
    this._changed.emit();
  }

  private async _read(): Promise<void> {
    try {
      await this.read();
    } catch (error) {
      const message = (error as Error).message;
      if (message !== this._error) {
        this._error = message;
        this._changed.emit();
      }
      throw error;
    }
    this._error = null;
    this._loaded = true;
    this._changed.emit();
  }

  protected readonly feed: JobFeed | null;
  private readonly _poll: Poll;
  private readonly _pollOptions: IFallbackPollOptions;
  private readonly _reread: Debouncer;
  private readonly _changed = new Signal<this, void>(this);
  private _error: string | null = null;
  private _loaded = false;
}
