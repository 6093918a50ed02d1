/**
 * One storage cluster as a JupyterLab drive (`prod-a:path`): the document
 * manager and the file browser open, save, upload, rename, copy and delete
 * there through `jupyter-mlplat/api/storage/{cluster}/contents/{path}`.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { type Contents, ServerConnection } from '@jupyterlab/services';
import { type ISignal, Signal } from '@lumino/signaling';

import { queryString } from '../api';
import {
  contentsEndpoint,
  expandRows,
  firstByName,
  isCompact,
  normalizeLocal
} from './paths';

export interface IStorageDriveOptions {
  /** The cluster name, also the drive name. */
  cluster: string;
  serverSettings?: ServerConnection.ISettings;
  /**
   * Folders with more entries show this many (by name) until the user asks
   * for all: the stock listing renders every entry at once.
   */
  maxEntries?: number;
}

/** A folder listed partly: `shown` of its `total` entries. */
export interface ITruncatedListing {
  path: string;
  shown: number;
  total: number;
}

export const MAX_ENTRIES = 1000;

/**
 * HDFS keeps no checkpoints: the drive answers with none, and saves are
 * atomic on the server instead.
 */
const NO_CHECKPOINT: Contents.ICheckpointModel = {
  id: 'none',
  last_modified: new Date(0).toISOString()
};

export class StorageDrive implements Contents.IDrive {
  constructor(options: IStorageDriveOptions) {
    this.name = options.cluster;
    this.serverSettings =
      options.serverSettings ?? ServerConnection.makeSettings();
    this._maxEntries = options.maxEntries ?? MAX_ENTRIES;
  }

  readonly name: string;
  readonly serverSettings: ServerConnection.ISettings;

  get fileChanged(): ISignal<this, Contents.IChangedArgs> {
    return this._fileChanged;
  }

  /** Emitted with each folder listing (truncated or not: null). */
  get listed(): ISignal<this, ITruncatedListing | null> {
    return this._listed;
  }

  /** List every entry of `localPath` from now on. */
  showAll(localPath: string): void {
    this._showAll.add(normalizeLocal(localPath));
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    for (const url of this._blobUrls) {
      URL.revokeObjectURL(url);
    }
    Signal.clearData(this);
  }

  /**
   * A file, notebook or folder; folders are fetched compact (a quarter of
   * the bytes of full models) and expanded here.
   */
  async get(
    localPath: string,
    options: Contents.IFetchOptions = {}
  ): Promise<Contents.IModel> {
    const path = normalizeLocal(localPath);
    const model = await this._request<Contents.IModel>(path, {
      query: {
        type: options.type ?? undefined,
        format: options.format ?? undefined,
        content: options.content === false ? '0' : '1',
        compact: options.content === false ? undefined : '1'
      }
    });
    if (model.type !== 'directory' || !Array.isArray(model.content)) {
      return model;
    }
    const all: Contents.IModel[] = isCompact(model.content)
      ? expandRows(path, model.content)
      : model.content;
    const content = this._showAll.has(path)
      ? all
      : firstByName(all, this._maxEntries);
    this._listed.emit(
      content.length < all.length
        ? { path, shown: content.length, total: all.length }
        : null
    );
    return { ...model, content };
  }

  /**
   * A `blob:` URL of the file's bytes (the storage API has no raw route).
   */
  async getDownloadUrl(localPath: string): Promise<string> {
    const model = await this.get(localPath, {
      type: 'file',
      format: 'base64',
      content: true
    });
    const binary = atob(String(model.content ?? ''));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) {
      bytes[i] = binary.charCodeAt(i);
    }
    const url = URL.createObjectURL(
      new Blob([bytes], {
        type: model.mimetype || 'application/octet-stream'
      })
    );
    this._blobUrls.push(url);
    return url;
  }

  async newUntitled(
    options: Contents.ICreateOptions = {}
  ): Promise<Contents.IModel> {
    const model = await this._request<Contents.IModel>(options.path ?? '', {
      method: 'POST',
      body: { type: options.type ?? 'file', ext: options.ext }
    });
    this._fileChanged.emit({ type: 'new', oldValue: null, newValue: model });
    return model;
  }

  async delete(localPath: string): Promise<void> {
    await this._request(localPath, { method: 'DELETE' });
    this._fileChanged.emit({
      type: 'delete',
      oldValue: { path: normalizeLocal(localPath) },
      newValue: null
    });
  }

  async rename(
    oldLocalPath: string,
    newLocalPath: string
  ): Promise<Contents.IModel> {
    const model = await this._request<Contents.IModel>(oldLocalPath, {
      method: 'PATCH',
      body: { path: normalizeLocal(newLocalPath) }
    });
    this._fileChanged.emit({
      type: 'rename',
      oldValue: { path: normalizeLocal(oldLocalPath) },
      newValue: model
    });
    return model;
  }

  /**
   * Save (atomic on the server); a `chunk` takes part in JupyterLab's
   * chunked upload (1, 2, … then -1 for the last part).
   */
  async save(
    localPath: string,
    options: Partial<Contents.IModel> = {}
  ): Promise<Contents.IModel> {
    const body = {
      type: options.type ?? 'file',
      format: options.format ?? null,
      content: options.content ?? null,
      chunk: options.chunk ?? null
    };
    const partial = options.chunk !== undefined && options.chunk !== -1;
    let model: Contents.IModel;
    try {
      model = await this._request<Contents.IModel>(localPath, {
        method: 'PUT',
        body
      });
    } catch (error) {
      // The file of an upload appears only after its last chunk, so a part
      // of a new file may be answered "not found" once stored; a part that
      // was not stored fails the next one ("send chunk 1 first").
      if (!(partial && isNotFound(error))) {
        throw error;
      }
      model = partialUpload(normalizeLocal(localPath), options);
    }
    if (!partial) {
      this._fileChanged.emit({ type: 'save', oldValue: null, newValue: model });
    }
    return model;
  }

  async copy(localPath: string, toLocalDir: string): Promise<Contents.IModel> {
    const model = await this._request<Contents.IModel>(toLocalDir, {
      method: 'POST',
      body: { copy_from: normalizeLocal(localPath) }
    });
    this._fileChanged.emit({ type: 'new', oldValue: null, newValue: model });
    return model;
  }

  async createCheckpoint(): Promise<Contents.ICheckpointModel> {
    return NO_CHECKPOINT;
  }

  async listCheckpoints(): Promise<Contents.ICheckpointModel[]> {
    return [];
  }

  async restoreCheckpoint(localPath: string): Promise<void> {
    throw new Error(
      `${this.name}:${localPath} has no checkpoint: storage clusters keep none.`
    );
  }

  async deleteCheckpoint(): Promise<void> {
    return;
  }

  private async _request<T>(
    localPath: string,
    options: {
      method?: string;
      query?: Record<string, string | undefined>;
      body?: unknown;
    } = {}
  ): Promise<T> {
    const url =
      URLExt.join(
        this.serverSettings.baseUrl,
        'jupyter-mlplat',
        'api',
        contentsEndpoint(this.name, normalizeLocal(localPath))
      ) + queryString(options.query ?? {});
    const init: RequestInit = { method: options.method ?? 'GET' };
    if (options.body !== undefined) {
      init.body = JSON.stringify(options.body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    const response = await ServerConnection.makeRequest(
      url,
      init,
      this.serverSettings
    );
    if (!response.ok) {
      throw await responseError(response);
    }
    if (response.status === 204) {
      return undefined as T;
    }
    return (await response.json()) as T;
  }

  private readonly _maxEntries: number;
  private readonly _showAll = new Set<string>();
  private readonly _listed = new Signal<this, ITruncatedListing | null>(this);
  private _isDisposed = false;
  private readonly _blobUrls: string[] = [];
  private readonly _fileChanged = new Signal<this, Contents.IChangedArgs>(this);
}

function isNotFound(error: unknown): boolean {
  return (
    error instanceof ServerConnection.ResponseError &&
    error.response.status === 404
  );
}

/**
 * What an upload looks like between two chunks (nothing is on disk yet).
 */
function partialUpload(
  path: string,
  options: Partial<Contents.IModel>
): Contents.IModel {
  const now = new Date().toISOString();
  return {
    name: path.slice(path.lastIndexOf('/') + 1),
    path,
    type: options.type ?? 'file',
    writable: true,
    created: now,
    last_modified: now,
    mimetype: '',
    content: null,
    format: null,
    chunk: options.chunk
  };
}

/**
 * The server's `{message}` as a `ResponseError` (what the file browser and
 * the document manager expect, e.g. 404 → "directory not found").
 */
async function responseError(
  response: Response
): Promise<ServerConnection.ResponseError> {
  let message = `${response.status} ${response.statusText}`.trim();
  try {
    const data = await response.json();
    if (typeof data?.message === 'string' && data.message) {
      message = data.message;
    }
  } catch {
    // Not JSON: keep the status line.
  }
  return new ServerConnection.ResponseError(response, message);
}
