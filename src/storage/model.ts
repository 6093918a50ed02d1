/**
 * The storage clusters with their health, polled for the sidebar's dots.
 */
import { Poll } from '@lumino/polling';
import { type ISignal, Signal } from '@lumino/signaling';

import type { IClusterStatus, MlplatApi } from '../api';
import { defaultClusterUrl } from './paths';

/** Health checks wait up to a few seconds per cluster: poll gently. */
const HEALTH_INTERVAL = 30_000;

export class StorageModel {
  constructor(private readonly _api: MlplatApi) {
    this._poll = new Poll({
      auto: false,
      factory: () => this._fetch(),
      frequency: { interval: HEALTH_INTERVAL, backoff: true, max: 300_000 },
      standby: 'when-hidden',
      name: 'jupyter-mlplat:storage'
    });
  }

  /** Emitted when the clusters or the error changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Null until the first answer. */
  get clusters(): readonly IClusterStatus[] | null {
    return this._clusters;
  }

  get error(): string | null {
    return this._error;
  }

  cluster(name: string): IClusterStatus | undefined {
    return this._clusters?.find(c => c.name === name);
  }

  /** The `hdfs://<cluster><base_path>` prefix code uses for this cluster. */
  url(name: string): string {
    return this.cluster(name)?.url ?? defaultClusterUrl(name);
  }

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
    try {
      const answer = await this._api.listStorage();
      this._clusters = answer.clusters;
      this._error = null;
    } catch (error) {
      this._error = (error as Error).message;
      this._changed.emit();
      throw error;
    }
    this._changed.emit();
  }

  private readonly _poll: Poll;
  private readonly _changed = new Signal<this, void>(this);
  private _clusters: IClusterStatus[] | null = null;
  private _error: string | null = null;
}
