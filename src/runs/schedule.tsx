/**
 * The "Schedule…" dialog: cron and time zone with a live preview of the
 * next runs (from the server, which owns cron semantics), policies, target.
 */
import React from 'react';
import { Dialog } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';

import type {
  IParameter,
  IPlatformConfig,
  ISchedule,
  ISchedulePreview,
  MlplatApi,
  ScheduleRequest
} from '../api';
import { Field } from '../dialogs/Field';
import { ResourceFields, runtimeDefaults } from '../dialogs/ResourceFields';
import { ParameterFields } from '../dialogs/SubmitForm';
import { launchSubmitting, SubmittingDialog } from '../dialogs/submitting';
import {
  collectParameters,
  gpuError,
  quantityError,
  valueToText
} from '../params';
import { cronShapeError, formatFireTime, timeZones } from './format';

export interface IScheduleOptions {
  api: MlplatApi;
  config: IPlatformConfig;
  /** The notebook of a new schedule. */
  notebook?: string;
  /** Edit this schedule (every part of its definition) instead. */
  schedule?: ISchedule;
}

/**
 * The browser's own time zone (a new schedule's default), UTC if unknown.
 */
export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/**
 * Resolves with the created (or edited) schedule, or null when cancelled.
 */
export async function showScheduleDialog(
  options: IScheduleOptions
): Promise<ISchedule | null> {
  return launchSubmitting(
    new SubmittingDialog<ISchedule | null>(new ScheduleBody(options), {
      title: options.schedule
        ? `Edit schedule ${options.schedule.name}`
        : 'Schedule notebook',
      buttons: [
        Dialog.cancelButton(),
        Dialog.okButton({ label: options.schedule ? 'Save' : 'Schedule' })
      ],
      focusNodeSelector: 'input[name="cron"]',
      className: 'jp-mlplat-schedule-dialog'
    })
  );
}

interface IValues {
  notebook: string;
  name: string;
  cron: string;
  timezone: string;
  misfire_policy: NonNullable<ScheduleRequest['misfire_policy']>;
  concurrency_policy: NonNullable<ScheduleRequest['concurrency_policy']>;
  executor: NonNullable<ScheduleRequest['executor']>;
  target: string;
  runtime: string;
  texts: Record<string, string>;
  cpu: string;
  memory: string;
  gpu: string;
  output: string;
  timeout: string;
}

class ScheduleBody
  extends ReactWidget
  implements Dialog.IBodyWidget<ISchedule | null>
{
  constructor(private readonly _options: IScheduleOptions) {
    super();
    this.addClass('jp-mlplat-submit-body');
    const { config, schedule } = _options;
    const texts: Record<string, string> = {};
    for (const [name, value] of Object.entries(schedule?.parameters ?? {})) {
      texts[name] = valueToText(value);
    }
    this._values = {
      notebook: schedule?.notebook ?? _options.notebook ?? '',
      name: schedule?.name ?? '',
      cron: schedule?.cron ?? '0 6 * * 1-5',
      timezone: schedule?.timezone ?? browserTimeZone(),
      misfire_policy: schedule?.misfire_policy ?? 'run_once',
      concurrency_policy: schedule?.concurrency_policy ?? 'forbid',
      executor: schedule?.executor ?? 'local',
      target: schedule?.target ?? config.targets[0]?.name ?? 'local',
      runtime: schedule?.runtime ?? config.runtimes[0]?.name ?? 'default',
      texts,
      cpu: schedule?.resources.cpu ?? '',
      memory: schedule?.resources.memory ?? '',
      gpu: schedule?.resources.gpu ? String(schedule.resources.gpu) : '',
      output: schedule?.output ?? '',
      timeout: schedule?.timeout ? String(schedule.timeout) : ''
    };
    this._schedulePreview();
    this._loadParameters();
  }

  onReadyChanged: (ready: boolean) => void = () => undefined;

  getValue(): ISchedule | null {
    return this._schedule;
  }

  async submit(): Promise<boolean> {
    if (!this._ready()) {
      return false;
    }
    const v = this._values;
    const { api, schedule } = this._options;
    const parameters = collectParameters(
      this._parameters ?? [],
      v.texts
    ).values;
    const resources = {
      cpu: v.cpu.trim() || null,
      memory: v.memory.trim() || null,
      gpu: v.gpu.trim() ? Number(v.gpu) : 0
    };
    const common = {
      notebook: v.notebook.trim(),
      cron: v.cron.trim(),
      timezone: v.timezone.trim(),
      misfire_policy: v.misfire_policy,
      concurrency_policy: v.concurrency_policy,
      target: v.target,
      runtime: v.runtime,
      parameters,
      resources,
      output: v.output.trim() || null,
      timeout: v.timeout.trim() ? Number(v.timeout) : null
    };
    this._busy = true;
    this._serverError = null;
    this._changed();
    try {
      this._schedule = schedule
        ? await api.updateSchedule(schedule.id, {
            ...common,
            name: v.name.trim() || schedule.name
          })
        : await api.createSchedule({
            ...common,
            name: v.name.trim() || null,
            executor: v.executor
          });
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
    const { config, schedule } = this._options;
    const set = (patch: Partial<IValues>) => {
      const cronChanged =
        patch.cron !== undefined || patch.timezone !== undefined;
      this._values = { ...this._values, ...patch };
      this._serverError = null;
      if (cronChanged) {
        this._schedulePreview();
      }
      if (patch.notebook !== undefined) {
        this._loadParameters();
      }
      this._changed();
    };
    const errors = this._errors();
    const preview = this._preview;
    const runtime = config.runtimes.find(r => r.name === v.runtime);
    return (
      <form
        className="jp-mlplat-form"
        onSubmit={event => event.preventDefault()}
      >
        <fieldset>
          <legend>What</legend>
          <Field
            label="Notebook"
            error={errors.notebook}
            hint="path from the Jupyter root"
          >
            <input
              className="jp-mod-styled"
              name="notebook"
              value={v.notebook}
              spellCheck={false}
              onChange={event => set({ notebook: event.target.value })}
            />
          </Field>
          <ParameterFields
            parameters={this._parameters}
            parametersError={null}
            hasParametersCell={this._hasParametersCell}
            texts={v.texts}
            errors={errors}
            onTexts={texts => set({ texts })}
          />
        </fieldset>
        <fieldset>
          <legend>When</legend>
          <Field
            label="Cron"
            error={errors.cron}
            hint="minute hour day month weekday"
          >
            <input
              className="jp-mod-styled"
              name="cron"
              value={v.cron}
              spellCheck={false}
              onChange={event => set({ cron: event.target.value })}
            />
          </Field>
          <Field label="Time zone" error={errors.timezone}>
            <input
              className="jp-mod-styled"
              name="timezone"
              list="jp-mlplat-timezones"
              value={v.timezone}
              onChange={event => set({ timezone: event.target.value })}
            />
            <datalist id="jp-mlplat-timezones">
              {timeZones().map(zone => (
                <option key={zone} value={zone} />
              ))}
            </datalist>
          </Field>
          <div className="jp-mlplat-preview" aria-live="polite">
            {this._previewPending && !preview && 'Reading the schedule…'}
            {preview && !errors.cron && !errors.timezone && (
              <>
                <strong className="jp-mlplat-preview-words">
                  {preview.description}
                </strong>
                <ol className="jp-mlplat-preview-times">
                  {preview.next_fire_times.map(time => (
                    <li key={time}>{formatFireTime(time, preview.timezone)}</li>
                  ))}
                </ol>
              </>
            )}
          </div>
        </fieldset>
        <fieldset>
          <legend>Where</legend>
          <Field label="Target">
            <select
              className="jp-mod-styled"
              name="target"
              value={v.target}
              onChange={event => set({ target: event.target.value })}
            >
              {config.targets.map(t => (
                <option key={t.name} value={t.name}>
                  {t.name} ({t.kind})
                </option>
              ))}
            </select>
          </Field>
          <Field label="Runtime">
            <select
              className="jp-mod-styled"
              name="runtime"
              value={v.runtime}
              onChange={event => set({ runtime: event.target.value })}
            >
              {config.runtimes.map(r => (
                <option key={r.name} value={r.name}>
                  {r.image ? `${r.name} (${r.image})` : r.name}
                </option>
              ))}
            </select>
          </Field>
          <ResourceFields
            values={v}
            errors={errors}
            placeholders={runtimeDefaults(runtime)}
            onChange={set}
          />
          <Field label="Output folder" hint="optional">
            <input
              className="jp-mod-styled"
              name="output"
              value={v.output}
              placeholder="beside the notebook: mlplat-outputs/runs"
              onChange={event => set({ output: event.target.value })}
            />
          </Field>
          <Field label="Time limit (s)" hint="optional" error={errors.timeout}>
            <input
              className="jp-mod-styled"
              name="timeout"
              inputMode="numeric"
              value={v.timeout}
              placeholder="none"
              onChange={event => set({ timeout: event.target.value })}
            />
          </Field>
        </fieldset>
        <fieldset>
          <legend>How</legend>
          <Field label="Name" hint="optional">
            <input
              className="jp-mod-styled"
              name="name"
              value={v.name}
              placeholder={v.notebook
                .replace(/^.*\//, '')
                .replace(/\.ipynb$/, '')}
              onChange={event => set({ name: event.target.value })}
            />
          </Field>
          <Field
            label="After downtime"
            hint="Missed due times while the scheduler was down"
          >
            <select
              className="jp-mod-styled"
              name="misfire_policy"
              value={v.misfire_policy}
              onChange={event =>
                set({
                  misfire_policy: event.target
                    .value as IValues['misfire_policy']
                })
              }
            >
              <option value="run_once">Run once</option>
              <option value="skip">Skip</option>
            </select>
          </Field>
          <Field
            label="If still running"
            hint="When the previous run has not finished"
          >
            <select
              className="jp-mod-styled"
              name="concurrency_policy"
              value={v.concurrency_policy}
              onChange={event =>
                set({
                  concurrency_policy: event.target
                    .value as IValues['concurrency_policy']
                })
              }
            >
              <option value="forbid">Skip the new run</option>
              <option value="allow">Run both</option>
              <option value="replace">Replace the previous run</option>
            </select>
          </Field>
          <Field
            label="Fired by"
            hint={
              schedule
                ? 'Fixed once created: delete and schedule again to change it'
                : 'Kubernetes keeps firing when JupyterLab is stopped'
            }
          >
            <select
              className="jp-mod-styled"
              name="executor"
              value={v.executor}
              disabled={!!schedule}
              onChange={event =>
                set({ executor: event.target.value as IValues['executor'] })
              }
            >
              <option value="local">This Jupyter server</option>
              <option value="kubernetes">A Kubernetes CronJob</option>
            </select>
          </Field>
        </fieldset>
        {this._serverError && (
          <p className="jp-mlplat-error" role="alert">
            {this._serverError}
          </p>
        )}
      </form>
    );
  }

  /** Read the notebook's parameters, 400 ms after the last key. */
  private _loadParameters(): void {
    window.clearTimeout(this._paramsTimer);
    this._parameters = null;
    this._parametersError = null;
    const notebook = this._values.notebook.trim();
    if (!notebook) {
      this._parametersError = 'Enter the path of a notebook';
      return;
    }
    const request = ++this._paramsRequest;
    this._paramsTimer = window.setTimeout(async () => {
      try {
        const answer = await this._options.api.getParameters(notebook);
        if (request === this._paramsRequest) {
          this._parameters = answer.parameters as IParameter[];
          this._hasParametersCell = answer.has_parameters_cell;
        }
      } catch (error) {
        if (request === this._paramsRequest) {
          this._parametersError = (error as Error).message;
        }
      } finally {
        if (request === this._paramsRequest) {
          this._changed();
        }
      }
    }, 400);
  }

  /** Ask the server for the next fire times, 300 ms after the last key. */
  private _schedulePreview(): void {
    window.clearTimeout(this._timer);
    this._preview = null;
    this._previewError = null;
    const { cron, timezone } = this._values;
    if (cronShapeError(cron) || !timezone.trim()) {
      this._previewPending = false;
      return;
    }
    this._previewPending = true;
    const request = ++this._request;
    this._timer = window.setTimeout(async () => {
      try {
        const preview = await this._options.api.previewSchedule(
          cron.trim(),
          timezone.trim(),
          5
        );
        if (request === this._request) {
          this._preview = preview;
        }
      } catch (error) {
        if (request === this._request) {
          this._previewError = (error as Error).message;
        }
      } finally {
        if (request === this._request) {
          this._previewPending = false;
          this._changed();
        }
      }
    }, 300);
  }

  private _errors(): Record<string, string> {
    const v = this._values;
    const errors: Record<string, string> = {};
    if (this._parametersError) {
      errors.notebook = this._parametersError;
    }
    const params = collectParameters(this._parameters ?? [], v.texts);
    for (const [name, message] of Object.entries(params.errors)) {
      errors[`param:${name}`] = message;
    }
    for (const [name, message] of [
      ['cpu', quantityError(v.cpu)],
      ['memory', quantityError(v.memory)],
      ['gpu', gpuError(v.gpu)],
      [
        'timeout',
        v.timeout.trim() && !/^[1-9]\d*$/.test(v.timeout.trim())
          ? 'must be a whole number of seconds'
          : null
      ]
    ] as [string, string | null][]) {
      if (message) {
        errors[name] = message;
      }
    }
    const shape = cronShapeError(v.cron);
    if (shape) {
      return { ...errors, cron: shape };
    }
    if (!v.timezone.trim()) {
      return {
        ...errors,
        timezone: 'Enter a time zone, e.g. Europe/Paris or UTC'
      };
    }
    const message = this._previewError;
    if (message) {
      if (/^\s*time ?zone/i.test(message)) {
        errors.timezone = message;
      } else {
        errors.cron = message;
      }
    }
    return errors;
  }

  private _ready(): boolean {
    return (
      !this._busy &&
      !this._previewPending &&
      this._preview !== null &&
      this._parameters !== null &&
      Object.keys(this._errors()).length === 0
    );
  }

  private _changed(): void {
    this.update();
    this.onReadyChanged(this._ready());
  }

  private _values: IValues;
  private _preview: ISchedulePreview | null = null;
  private _previewError: string | null = null;
  private _previewPending = false;
  private _request = 0;
  private _timer = 0;
  private _busy = false;
  private _serverError: string | null = null;
  private _schedule: ISchedule | null = null;
  private _parameters: IParameter[] | null = null;
  private _parametersError: string | null = null;
  private _hasParametersCell = true;
  private _paramsRequest = 0;
  private _paramsTimer = 0;
}
