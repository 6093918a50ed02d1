/**
 * "Deploy…" of a model version: target (a Kubernetes one), serving kind,
 * replicas and resources; the server's message shows inline.
 */
import React from 'react';
import { Dialog } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';

import type { IDeployment, IPlatformConfig, MlplatApi } from '../api';
import { Field } from '../dialogs/Field';
import { ResourceFields } from '../dialogs/ResourceFields';
import { launchSubmitting, SubmittingDialog } from '../dialogs/submitting';
import { gpuError, quantityError } from '../params';

/** Serving kinds and their images (TF Serving watches the model's folder). */
export const SERVING_KINDS: { label: string; image: string }[] = [
  { label: 'TensorFlow Serving 2.14', image: 'tensorflow/serving:2.14.1' },
  {
    label: 'TensorFlow Serving 2.14 (GPU)',
    image: 'tensorflow/serving:2.14.1-gpu'
  }
];

export interface IDeployOptions {
  api: MlplatApi;
  config: IPlatformConfig;
  model: string;
  version: number;
}

export async function showDeployDialog(
  options: IDeployOptions
): Promise<IDeployment | null> {
  return launchSubmitting(
    new SubmittingDialog<IDeployment | null>(new DeployBody(options), {
      title: `Deploy ${options.model} v${options.version}`,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Deploy' })],
      className: 'jp-mlplat-deploy-dialog'
    })
  );
}

interface IValues {
  target: string;
  image: string;
  replicas: string;
  namespace: string;
  cpu: string;
  memory: string;
  gpu: string;
}

class DeployBody
  extends ReactWidget
  implements Dialog.IBodyWidget<IDeployment | null>
{
  constructor(private readonly _options: IDeployOptions) {
    super();
    this.addClass('jp-mlplat-submit-body');
    this._values = {
      target: this._targets()[0]?.name ?? '',
      image: SERVING_KINDS[0].image,
      replicas: '1',
      namespace: '',
      cpu: '',
      memory: '',
      gpu: ''
    };
  }

  onReadyChanged: (ready: boolean) => void = () => undefined;

  getValue(): IDeployment | null {
    return this._deployment;
  }

  async submit(): Promise<boolean> {
    if (!this._ready()) {
      return false;
    }
    const v = this._values;
    this._busy = true;
    this._serverError = null;
    this._changed();
    try {
      this._deployment = await this._options.api.deployModel(
        this._options.model,
        this._options.version,
        {
          target: v.target,
          image: v.image.trim(),
          replicas: Number(v.replicas),
          namespace: v.namespace.trim() || null,
          resources: {
            cpu: v.cpu.trim() || null,
            memory: v.memory.trim() || null,
            gpu: v.gpu.trim() ? Number(v.gpu) : 0
          }
        }
      );
      return true;
    } catch (error) {
      this._serverError = (error as Error).message;
      return false;
    } finally {
      this._busy = false;
      this._changed();
    }
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.onReadyChanged(this._ready());
  }

  protected render(): JSX.Element {
    const v = this._values;
    const errors = this._errors();
    const set = (patch: Partial<IValues>) => {
      this._values = { ...this._values, ...patch };
      this._serverError = null;
      this._changed();
    };
    const targets = this._targets();
    const known = SERVING_KINDS.some(kind => kind.image === v.image);
    return (
      <form className="jp-mlplat-form" onSubmit={e => e.preventDefault()}>
        <p className="jp-mlplat-hint">
          The serving replicas watch the model’s folder: versions published
          later are served without a redeploy.
        </p>
        <Field label="Target" error={errors.target}>
          <select
            className="jp-mod-styled"
            name="target"
            value={v.target}
            disabled={targets.length === 0}
            onChange={event => set({ target: event.target.value })}
          >
            {targets.map(t => (
              <option key={t.name} value={t.name}>
                {t.name}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Serving">
          <select
            className="jp-mod-styled"
            name="serving"
            value={known ? v.image : ''}
            onChange={event => set({ image: event.target.value || v.image })}
          >
            {SERVING_KINDS.map(kind => (
              <option key={kind.image} value={kind.image}>
                {kind.label}
              </option>
            ))}
            {!known && <option value="">Custom image</option>}
          </select>
        </Field>
        <Field label="Image" hint="a TF Serving image">
          <input
            className="jp-mod-styled"
            name="image"
            value={v.image}
            onChange={event => set({ image: event.target.value })}
          />
        </Field>
        <Field label="Replicas" error={errors.replicas}>
          <input
            className="jp-mod-styled"
            name="replicas"
            inputMode="numeric"
            value={v.replicas}
            onChange={event => set({ replicas: event.target.value })}
          />
        </Field>
        <ResourceFields
          values={v}
          errors={errors}
          placeholders={{ cpu: 'none', memory: 'none', gpu: '0' }}
          onChange={set}
        />
        <Field label="Namespace" hint="optional: the target's own by default">
          <input
            className="jp-mod-styled"
            name="namespace"
            value={v.namespace}
            onChange={event => set({ namespace: event.target.value })}
          />
        </Field>
        {this._serverError && (
          <p className="jp-mlplat-error" role="alert">
            {this._serverError}
          </p>
        )}
      </form>
    );
  }

  private _targets() {
    return this._options.config.targets.filter(t => t.kind === 'kubernetes');
  }

  private _errors(): Record<string, string> {
    const v = this._values;
    const errors: Record<string, string> = {};
    if (this._targets().length === 0) {
      errors.target =
        'No Kubernetes target is configured: serving runs on Kubernetes (see the configuration reference, targets)';
    }
    if (!/^([1-9]|1\d|20)$/.test(v.replicas.trim())) {
      errors.replicas = 'must be a whole number from 1 to 20';
    }
    for (const [name, message] of [
      ['cpu', quantityError(v.cpu)],
      ['memory', quantityError(v.memory)],
      ['gpu', gpuError(v.gpu)]
    ] as [string, string | null][]) {
      if (message) {
        errors[name] = message;
      }
    }
    return errors;
  }

  private _ready(): boolean {
    return (
      !this._busy &&
      this._values.image.trim() !== '' &&
      Object.keys(this._errors()).length === 0
    );
  }

  private _changed(): void {
    this.update();
    this.onReadyChanged(this._ready());
  }

  private _values: IValues;
  private _busy = false;
  private _serverError: string | null = null;
  private _deployment: IDeployment | null = null;
}
