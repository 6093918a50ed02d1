/**
 * Published models in the sidebar, and the versions and deployment of each
 * model the user opened: read when the server pushes a model change (a
 * publish, a stage change, a deploy, a deployment's ready replicas), polled
 * only as the fallback.
 */
import type {
  IDeployment,
  IModelSummary,
  IModelVersion,
  MlplatApi,
  ModelStage
} from '../api';
import { FeedModel } from '../feedModel';
import type { JobFeed } from '../jobs/feed';

/** What the sidebar shows of an opened model. */
export interface IModelDetail {
  /** Undefined until the first answer. */
  versions?: readonly IModelVersion[];
  /** Null when the model is not deployed. */
  deployment?: IDeployment | null;
  error: string | null;
}

export interface IModelsModelOptions {
  api: Pick<
    MlplatApi,
    'listModels' | 'listVersions' | 'getDeployment' | 'setStage'
  >;
  interval: number;
  feed: JobFeed | null;
}

export class ModelsModel extends FeedModel {
  constructor(options: IModelsModelOptions) {
    super({
      interval: options.interval,
      feed: options.feed,
      name: 'jupyter-mlplat:models'
    });
    this._api = options.api;
    this.feed?.modelChanged.connect(this._onChange, this);
  }

  /** Undefined until the first answer. */
  get models(): readonly IModelSummary[] | undefined {
    return this._models;
  }

  /** Where the model store is (shown under the list). */
  get store(): string | undefined {
    return this._store;
  }

  /** The versions and deployment of an opened model (read while it is open). */
  detail(name: string): IModelDetail | undefined {
    return this._details.get(name);
  }

  /** Open a model (its versions and deployment are read now and then on). */
  open(name: string): Promise<void> {
    if (!this._details.has(name)) {
      this._details.set(name, { error: null });
      this.emitChanged();
    }
    return this._readDetail(name);
  }

  /** Close a model: its versions are no longer read. */
  close(name: string): void {
    if (this._details.delete(name)) {
      this.emitChanged();
    }
  }

  /** Move a version to a stage (the server archives the one it replaces). */
  async setStage(
    name: string,
    version: number,
    stage: ModelStage
  ): Promise<void> {
    await this._api.setStage(name, version, stage);
    await this.refresh();
  }

  protected async read(): Promise<void> {
    const list = await this._api.listModels();
    this._models = list.models;
    this._store = list.store;
    await Promise.all([...this._details.keys()].map(n => this._readDetail(n)));
  }

  protected disconnect(): void {
    this.feed?.modelChanged.disconnect(this._onChange, this);
  }

  private async _readDetail(name: string): Promise<void> {
    const summary = this._models?.find(model => model.name === name);
    try {
      const [versions, deployment] = await Promise.all([
        this._api.listVersions(name),
        summary?.deployed ? this._api.getDeployment(name) : null
      ]);
      if (this._details.has(name)) {
        this._details.set(name, {
          versions: versions.versions,
          deployment,
          error: null
        });
      }
    } catch (error) {
      const detail = this._details.get(name);
      if (detail) {
        this._details.set(name, {
          ...detail,
          error: (error as Error).message
        });
      }
    }
    this.emitChanged();
  }

  /**
   * A pushed change: the list (and the opened models' details) is read
   * again, once for a burst.
   */
  private _onChange(): void {
    this.rereadSoon();
  }

  private readonly _api: IModelsModelOptions['api'];
  private _models: readonly IModelSummary[] | undefined;
  private _store: string | undefined;
  private readonly _details = new Map<string, IModelDetail>();
}
