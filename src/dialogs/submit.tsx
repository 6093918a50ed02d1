import React from 'react';
import { Dialog } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';
import { UUID } from '@lumino/coreutils';
import type { Message } from '@lumino/messaging';

import type {
  IJob,
  IParameter,
  IPlatformConfig,
  JobSubmission,
  MlplatApi
} from '../api';
import {
  collectParameters,
  gpuError,
  parameterOfValue,
  quantityError,
  valueToText
} from '../params';
import { type IFormValues, SubmitForm } from './SubmitForm';
import { launchSubmitting, SubmittingDialog } from './submitting';

/** `data/*.csv, model/**` or one per line → the globs. */
export function splitGlobs(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map(glob => glob.trim())
    .filter(Boolean);
}

export interface ISubmitOptions<T = IJob> {
  api: MlplatApi;
  config: IPlatformConfig;
  /** The notebook to submit (null: rerun of a job that ran code). */
  notebook: string | null;
  defaultTarget?: string;
  /** Rerun this job (only its parameters can change). */
  rerunOf?: IJob;
  /**
   * Send something else than a job with the same form (a run, a rerun of
   * a run); resources are then not asked for.
   */
  send?: (submission: ISubmission) => Promise<T>;
  title?: string;
  acceptLabel?: string;
  /** Values of an earlier run to start from. */
  prefill?: {
    parameters?: Record<string, unknown>;
    target?: string;
    runtime?: string;
    /** Only the parameters can change (a rerun). */
    rerun?: boolean;
  };
}

/**
 * What the form collected, for a custom `send`.
 */
export interface ISubmission {
  notebook: string | null;
  name: string | null;
  parameters: Record<string, unknown>;
  target: string;
  runtime: string;
}

/**
 * Show the "Submit as job" dialog; resolves with the new job, or null when
 * the user cancelled. A refused submit keeps the dialog open with the
 * server's message.
 */
export async function showSubmitDialog<T = IJob>(
  options: ISubmitOptions<T>
): Promise<T | null> {
  return launchSubmitting(
    new SubmittingDialog<T | null>(new SubmitBody<T>(options), {
      title:
        options.title ??
        (options.rerunOf ? `Rerun ${options.rerunOf.name}` : 'Submit as job'),
      buttons: [
        Dialog.cancelButton(),
        Dialog.okButton({
          label: options.acceptLabel ?? (options.rerunOf ? 'Rerun' : 'Submit')
        })
      ],
      focusNodeSelector: 'input',
      className: 'jp-mlplat-submit-dialog'
    })
  );
}

class SubmitBody<T>
  extends ReactWidget
  implements Dialog.IBodyWidget<T | null>
{
  constructor(private readonly _options: ISubmitOptions<T>) {
    super();
    this.addClass('jp-mlplat-submit-body');
    const { config, rerunOf, prefill } = _options;
    const spec = rerunOf?.spec ?? prefill;
    const target =
      spec?.target ??
      config.targets.find(t => t.name === _options.defaultTarget)?.name ??
      config.targets[0]?.name ??
      'local';
    const texts: Record<string, string> = {};
    for (const [name, value] of Object.entries(spec?.parameters ?? {})) {
      texts[name] = valueToText(value);
    }
    this._values = {
      texts,
      name: '',
      target,
      runtime: spec?.runtime ?? config.runtimes[0]?.name ?? 'default',
      cpu: '',
      memory: '',
      gpu: '',
      output: '',
      timeout: '',
      files: '',
      kind: 'job',
      workers: ''
    };
    void this._loadParameters();
  }

  /** Told whether the form can be submitted now. */
  onReadyChanged: (ready: boolean) => void = () => undefined;

  getValue(): T | null {
    return this._job;
  }

  /**
   * Send the job; false (and the message shown) when it was refused.
   */
  async submit(): Promise<boolean> {
    if (!this._ready()) {
      return false;
    }
    const { api, rerunOf, notebook } = this._options;
    const { values } = collectParameters(
      this._parameters ?? [],
      this._values.texts
    );
    const v = this._values;
    this._setState({ busy: true, serverError: null });
    try {
      const send = this._options.send;
      this._job = send
        ? await send({
            notebook,
            name: v.name.trim() || null,
            parameters: values,
            target: v.target,
            runtime: v.runtime
          })
        : ((rerunOf
            ? await api.rerunJob(rerunOf.id, values)
            : await api.submitJob({
                notebook,
                name: v.name.trim() || null,
                parameters: values,
                target: v.target,
                runtime: v.runtime,
                resources: {
                  cpu: v.cpu.trim() || null,
                  memory: v.memory.trim() || null,
                  gpu: v.gpu.trim() ? Number(v.gpu) : 0
                },
                ...this._options_of(v),
                client_request_id: this._requestId
              })) as T);
      return true;
    } catch (error) {
      this._setState({ serverError: (error as Error).message });
      return false;
    } finally {
      this._setState({ busy: false });
    }
  }

  /** What the CLI's options set: output, time limit, files, kind, workers. */
  private _options_of(v: IFormValues): JobSubmission {
    const kubernetes =
      this._options.config.targets.find(t => t.name === v.target)?.kind ===
      'kubernetes';
    return {
      output: v.output.trim() || null,
      timeout: v.timeout.trim() ? Number(v.timeout) : null,
      files: splitGlobs(v.files),
      kind: kubernetes ? v.kind : 'job',
      workers:
        kubernetes && v.kind !== 'job' && v.workers.trim()
          ? Number(v.workers)
          : 0
    };
  }

  protected render(): JSX.Element {
    return (
      <SubmitForm
        mode={
          this._options.rerunOf || this._options.prefill?.rerun
            ? 'rerun'
            : 'submit'
        }
        resources={!this._options.send}
        source={this._options.notebook ?? 'code'}
        config={this._options.config}
        parameters={this._parameters}
        parametersError={this._parametersError}
        hasParametersCell={this._hasParametersCell}
        values={this._values}
        errors={this._errors()}
        serverError={this._serverError}
        busy={this._busy}
        onChange={values => this._setState({ values, serverError: null })}
      />
    );
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.onReadyChanged(this._ready());
  }

  private async _loadParameters(): Promise<void> {
    const { api, notebook, rerunOf, prefill } = this._options;
    const previous = Object.entries(
      rerunOf?.spec.parameters ?? prefill?.parameters ?? {}
    ).map(([name, value]) => parameterOfValue(name, value));
    if (notebook === null) {
      this._parameters = previous;
    } else {
      try {
        const answer = await api.getParameters(notebook);
        this._parameters = answer.parameters;
        this._hasParametersCell = answer.has_parameters_cell;
      } catch (err) {
        this._parameters = previous;
        this._parametersError = `Could not read the notebook’s parameters: ${(err as Error).message}`;
      }
    }
    this._setState({});
  }

  private _errors(): Record<string, string> {
    const errors: Record<string, string> = {};
    const params = collectParameters(
      this._parameters ?? [],
      this._values.texts
    );
    for (const [name, message] of Object.entries(params.errors)) {
      errors[`param:${name}`] = message;
    }
    const checks: [string, string | null][] = [
      ['cpu', quantityError(this._values.cpu)],
      ['memory', quantityError(this._values.memory)],
      ['gpu', gpuError(this._values.gpu)],
      [
        'timeout',
        /^(|[1-9]\d*)$/.test(this._values.timeout.trim())
          ? null
          : 'must be a whole number of seconds'
      ],
      [
        'workers',
        /^(|\d{1,3})$/.test(this._values.workers.trim()) &&
        Number(this._values.workers || 0) <= 256
          ? null
          : 'must be a whole number from 0 to 256'
      ]
    ];
    for (const [name, message] of checks) {
      if (message) {
        errors[name] = message;
      }
    }
    return errors;
  }

  private _ready(): boolean {
    return (
      this._parameters !== null &&
      !this._busy &&
      Object.keys(this._errors()).length === 0
    );
  }

  private _setState(
    patch: Partial<{
      values: IFormValues;
      serverError: string | null;
      busy: boolean;
    }>
  ): void {
    if (patch.values) {
      this._values = patch.values;
    }
    if (patch.serverError !== undefined) {
      this._serverError = patch.serverError;
    }
    if (patch.busy !== undefined) {
      this._busy = patch.busy;
    }
    this.update();
    this.onReadyChanged(this._ready());
  }

  private readonly _requestId = UUID.uuid4();
  private _values: IFormValues;
  private _parameters: IParameter[] | null = null;
  private _parametersError: string | null = null;
  private _hasParametersCell = true;
  private _serverError: string | null = null;
  private _busy = false;
  private _job: T | null = null;
}
