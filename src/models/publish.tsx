/**
 * "Publish model…" from a finished job: the artifact path, a name and
 * metrics; the job becomes the version's lineage.
 */
import React from 'react';
import { Dialog } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';

import type { IJob, IModelVersion, MlplatApi } from '../api';
import { folderOf, modelNameError, nameFromPath, parseMetrics } from './format';

/**
 * Publish a model: from a finished job (its lineage), or from a folder or
 * file (`job` null, `path` given) picked in a file browser.
 */
export async function showPublishDialog(
  api: MlplatApi,
  job: IJob | null,
  path?: string
): Promise<IModelVersion | null> {
  const body = new PublishBody(api, job, path);
  const dialog = new PublishDialog(body);
  const result = await dialog.launch();
  return result.button.accept ? result.value : null;
}

class PublishDialog extends Dialog<IModelVersion | null> {
  constructor(private readonly _publishBody: PublishBody) {
    super({
      title: 'Publish model',
      body: _publishBody,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Publish' })],
      defaultButton: 1,
      focusNodeSelector: 'input[name="path"]'
    });
    this.addClass('jp-mlplat-publish-dialog');
  }

  resolve(index?: number): void {
    if (index === 0) {
      super.resolve(0);
      return;
    }
    void this._publishBody.submit().then(ok => ok && super.resolve(1));
  }
}

class PublishBody
  extends ReactWidget
  implements Dialog.IBodyWidget<IModelVersion | null>
{
  constructor(
    private readonly _api: MlplatApi,
    private readonly _job: IJob | null,
    path?: string
  ) {
    super();
    this.addClass('jp-mlplat-submit-body');
    // The job's own output folder (MLPLAT_OUTPUT_DIR), else its notebook's.
    this._path =
      path ??
      (_job
        ? (_job.outputs.folder ??
          folderOf(_job.outputs.notebook ?? _job.spec.notebook ?? ''))
        : '');
    this._name = nameFromPath(
      path ?? _job?.spec.notebook ?? _job?.name ?? 'model'
    );
  }

  getValue(): IModelVersion | null {
    return this._version;
  }

  async submit(): Promise<boolean> {
    const metrics = parseMetrics(this._metrics);
    if (metrics.error || modelNameError(this._name) || !this._path.trim()) {
      return false;
    }
    this._busy = true;
    this._serverError = null;
    this.update();
    try {
      this._version = await this._api.publishModel({
        path: this._path.trim(),
        name: this._name.trim(),
        metrics: metrics.values,
        parameters: this._job?.spec.parameters ?? {},
        job_id: this._job?.id ?? null
      });
      return true;
    } catch (error) {
      this._serverError = (error as Error).message;
      return false;
    } finally {
      this._busy = false;
      this.update();
    }
  }

  protected render(): JSX.Element {
    const metrics = parseMetrics(this._metrics);
    const nameError = modelNameError(this._name);
    const change = (patch: () => void) => {
      patch();
      this._serverError = null;
      this.update();
    };
    return (
      <form
        className="jp-mlplat-form"
        onSubmit={event => event.preventDefault()}
        aria-busy={this._busy}
      >
        {this._job && (
          <p className="jp-mlplat-form-source">
            From job <code>{this._job.id}</code> ({this._job.name})
          </p>
        )}
        <label className="jp-mlplat-field">
          <span className="jp-mlplat-field-label">Artifact</span>
          <input
            className="jp-mod-styled"
            name="path"
            value={this._path}
            placeholder="folder/model or hdfs://cluster/path"
            onChange={e => change(() => (this._path = e.target.value))}
          />
          <span className="jp-mlplat-field-hint">
            A file or folder under the Jupyter root, or hdfs://cluster/path
          </span>
        </label>
        <label
          className={`jp-mlplat-field${nameError ? ' jp-mlplat-invalid' : ''}`}
        >
          <span className="jp-mlplat-field-label">Name</span>
          <input
            className="jp-mod-styled"
            name="name"
            value={this._name}
            onChange={e => change(() => (this._name = e.target.value))}
          />
          {nameError && (
            <span className="jp-mlplat-field-error">{nameError}</span>
          )}
        </label>
        <label
          className={`jp-mlplat-field${metrics.error ? ' jp-mlplat-invalid' : ''}`}
        >
          <span className="jp-mlplat-field-label">Metrics</span>
          <input
            className="jp-mod-styled"
            name="metrics"
            value={this._metrics}
            placeholder="accuracy=0.93, loss=0.21"
            onChange={e => change(() => (this._metrics = e.target.value))}
          />
          {metrics.error ? (
            <span className="jp-mlplat-field-error">{metrics.error}</span>
          ) : (
            <span className="jp-mlplat-field-hint">
              Shown in the versions table, to compare versions
            </span>
          )}
        </label>
        {this._serverError && (
          <p className="jp-mlplat-error" role="alert">
            {this._serverError}
          </p>
        )}
      </form>
    );
  }

  private _path: string;
  private _name: string;
  private _metrics = '';
  private _busy = false;
  private _serverError: string | null = null;
  private _version: IModelVersion | null = null;
}
