/**
 * The strip under a cluster browser's toolbar: upload progress bars, the
 * last error of the cluster (the stock browser only reports a 404), and
 * "Showing 1,000 of 10,000 entries" with a button to list them all.
 */
import React from 'react';
import type { FileBrowserModel, IUploadModel } from '@jupyterlab/filebrowser';
import type { IChangedArgs } from '@jupyterlab/coreutils';
import { ReactWidget } from '@jupyterlab/ui-components';

import type { ITruncatedListing, StorageDrive } from './drive';

export class BrowserStatus extends ReactWidget {
  constructor(
    private readonly _model: FileBrowserModel,
    private readonly _drive: StorageDrive
  ) {
    super();
    this.addClass('jp-mlplat-browser-status');
    _drive.listed.connect(this._onListed, this);
    _model.uploadChanged.connect(this._onUpload, this);
    _model.connectionFailure.connect(this._onFailure, this);
    _model.refreshed.connect(this._onRefreshed, this);
    // A folder's listing arrives before the browser moves into it: the notice
    // for the new folder shows once the path has changed too.
    _model.pathChanged.connect(this._onPathChanged, this);
  }

  protected render(): JSX.Element | null {
    const truncated =
      this._truncated?.path === this._localPath() ? this._truncated : null;
    if (this._uploads.size === 0 && !this._error && !truncated) {
      return null;
    }
    return (
      <>
        {[...this._uploads.entries()].map(([path, progress]) => {
          const name = path.slice(path.lastIndexOf('/') + 1);
          const percent = Math.round(progress * 100);
          return (
            <div key={path} className="jp-mlplat-upload" data-path={path}>
              <span className="jp-mlplat-upload-name" title={path}>
                {name}
              </span>
              <progress
                className="jp-mlplat-upload-bar"
                max={100}
                value={percent}
                aria-label={`Uploading ${name}`}
              />
              <span className="jp-mlplat-upload-percent">{percent}%</span>
            </div>
          );
        })}
        {truncated && (
          <p className="jp-mlplat-truncated">
            Showing {truncated.shown.toLocaleString()} of{' '}
            {truncated.total.toLocaleString()} entries.{' '}
            <button
              className="jp-mlplat-link"
              title="List every entry (a long list takes a while to show)"
              onClick={() => this._showAll(truncated.path)}
            >
              Show all
            </button>
          </p>
        )}
        {this._error && (
          <p className="jp-mlplat-error" role="alert">
            {this._error}
          </p>
        )}
      </>
    );
  }

  dispose(): void {
    if (!this.isDisposed) {
      this._model.uploadChanged.disconnect(this._onUpload, this);
      this._model.connectionFailure.disconnect(this._onFailure, this);
      this._model.refreshed.disconnect(this._onRefreshed, this);
      this._model.pathChanged.disconnect(this._onPathChanged, this);
      this._drive.listed.disconnect(this._onListed, this);
    }
    super.dispose();
  }

  private _onUpload(
    _: FileBrowserModel,
    change: IChangedArgs<IUploadModel | null, IUploadModel | null>
  ): void {
    const { oldValue, newValue } = change;
    if (oldValue) {
      this._uploads.delete(oldValue.path);
    }
    if (newValue && change.name !== 'failure') {
      this._uploads.set(newValue.path, newValue.progress);
    } else if (newValue) {
      this._uploads.delete(newValue.path);
    }
    this.update();
  }

  private _localPath(): string {
    const path = this._model.path;
    return path.slice(path.indexOf(':') + 1).replace(/^\/+|\/+$/g, '');
  }

  private _showAll(path: string): void {
    this._drive.showAll(path);
    this._truncated = null;
    this.update();
    void this._model.refresh();
  }

  private _onListed(_: StorageDrive, listing: ITruncatedListing | null): void {
    if (listing || this._truncated) {
      this._truncated = listing;
      this.update();
    }
  }

  private _onPathChanged(): void {
    if (this._truncated) {
      this.update();
    }
  }

  private _onFailure(_: FileBrowserModel, error: Error): void {
    this._error = error.message;
    this.update();
  }

  private _onRefreshed(): void {
    if (this._error) {
      this._error = null;
      this.update();
    }
  }

  private readonly _uploads = new Map<string, number>();
  private _error: string | null = null;
  private _truncated: ITruncatedListing | null = null;
}
