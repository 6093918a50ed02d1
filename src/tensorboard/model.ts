/**
 * The TensorBoards of this server in the sidebar: read when the server
 * pushes that one started, came up, failed or stopped (or a command here
 * opened one), polled only as the fallback.
 */
import type { ISignal } from '@lumino/signaling';

import type { ITensorBoard, MlplatApi } from '../api';
import { FeedModel } from '../feedModel';
import type { JobFeed } from '../jobs/feed';

export interface ITensorBoardsModelOptions {
  api: Pick<MlplatApi, 'listTensorBoards' | 'stopTensorBoard'>;
  interval: number;
  feed: JobFeed | null;
  /** Emitted when a TensorBoard was opened here (a job's detail, a command). */
  opened?: ISignal<unknown, void>;
}

export class TensorBoardsModel extends FeedModel {
  constructor(options: ITensorBoardsModelOptions) {
    super({
      interval: options.interval,
      feed: options.feed,
      name: 'jupyter-mlplat:tensorboards'
    });
    this._api = options.api;
    this._opened = options.opened ?? null;
    this.feed?.tensorBoardChanged.connect(this._onChange, this);
    this._opened?.connect(this._onChange, this);
  }

  /** Undefined until the first answer. */
  get tensorboards(): readonly ITensorBoard[] | undefined {
    return this._tensorboards;
  }

  /** Stop a TensorBoard (its process ends; it leaves the list). */
  async stop(id: string): Promise<void> {
    await this._api.stopTensorBoard(id);
    if (this._tensorboards?.some(tb => tb.id === id)) {
      this._tensorboards = this._tensorboards.filter(tb => tb.id !== id);
      this.emitChanged();
    }
    await this.refresh();
  }

  protected async read(): Promise<void> {
    this._tensorboards = (await this._api.listTensorBoards()).tensorboards;
  }

  protected disconnect(): void {
    this.feed?.tensorBoardChanged.disconnect(this._onChange, this);
    this._opened?.disconnect(this._onChange, this);
  }

  private _onChange(): void {
    this.rereadSoon();
  }

  private readonly _api: ITensorBoardsModelOptions['api'];
  private readonly _opened: ISignal<unknown, void> | null;
  private _tensorboards: readonly ITensorBoard[] | undefined;
}
