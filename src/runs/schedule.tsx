/**
 * The "Schedule…" dialog: cron and time zone with a live preview of the
 * next runs (from the server, which owns cron semantics), policies, target.
 */
import React from 'react';
import { Dialog } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';

import type {
  IPlatformConfig,
  ISchedule,
  ISchedulePreview,
  MlplatApi,
  ScheduleRequest
} from '../api';
import { Field } from '../dialogs/Field';
import { cronShapeError, formatFireTime, timeZones } from './format';

export interface IScheduleOptions {
  api: MlplatApi;
  config: IPlatformConfig;
  notebook: string;
}

/**
 * Resolves with the created schedule, or null when cancelled.
 */
export async function showScheduleDialog(
  options: IScheduleOptions
): Promise<ISchedule | null> {
  const body = new ScheduleBody(options);
  const dialog = new ScheduleDialog(body);
  const result = await dialog.launch();
  return result.button.accept ? result.value : null;
}

class ScheduleDialog extends Dialog<ISchedule | null> {
  constructor(private readonly _scheduleBody: ScheduleBody) {
    super({
      title: 'Schedule notebook',
      body: _scheduleBody,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Schedule' })],
      defaultButton: 1,
      focusNodeSelector: 'input[name="cron"]'
    });
    this.addClass('jp-mlplat-schedule-dialog');
    _scheduleBody.onReadyChanged = ready => {
      const button = this.node.querySelector<HTMLButtonElement>(
        '.jp-Dialog-button.jp-mod-accept'
      );
      if (button) {
        button.disabled = !ready;
      }
    };
  }

  resolve(index?: number): void {
    if (index === 0) {
      super.resolve(0);
      return;
    }
    void this._scheduleBody.submit().then(ok => ok && super.resolve(1));
  }
}

interface IValues {
  name: string;
  cron: string;
  timezone: string;
  misfire_policy: NonNullable<ScheduleRequest['misfire_policy']>;
  concurrency_policy: NonNullable<ScheduleRequest['concurrency_policy']>;
  executor: NonNullable<ScheduleRequest['executor']>;
  target: string;
}

class ScheduleBody
  extends ReactWidget
  implements Dialog.IBodyWidget<ISchedule | null>
{
  constructor(private readonly _options: IScheduleOptions) {
    super();
    this.addClass('jp-mlplat-submit-body');
    this._values = {
      name: '',
      cron: '0 6 * * 1-5',
      timezone: timeZones()[1] ?? 'UTC',
      misfire_policy: 'run_once',
      concurrency_policy: 'forbid',
      executor: 'local',
      target: _options.config.targets[0]?.name ?? 'local'
    };
    this._schedulePreview();
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
    this._busy = true;
    this._serverError = null;
    this._changed();
    try {
      this._schedule = await this._options.api.createSchedule({
        notebook: this._options.notebook,
        name: v.name.trim() || null,
        cron: v.cron.trim(),
        timezone: v.timezone.trim(),
        misfire_policy: v.misfire_policy,
        concurrency_policy: v.concurrency_policy,
        executor: v.executor,
        target: v.target,
        runtime: this._options.config.runtimes[0]?.name ?? 'default'
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
    const set = (patch: Partial<IValues>) => {
      const cronChanged =
        patch.cron !== undefined || patch.timezone !== undefined;
      this._values = { ...this._values, ...patch };
      this._serverError = null;
      if (cronChanged) {
        this._schedulePreview();
      }
      this._changed();
    };
    const errors = this._errors();
    const preview = this._preview;
    return (
      <form
        className="jp-mlplat-form"
        onSubmit={event => event.preventDefault()}
      >
        <p className="jp-mlplat-form-source">
          <code>{this._options.notebook}</code>
        </p>
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
          <legend>How</legend>
          <Field label="Name" hint="optional">
            <input
              className="jp-mod-styled"
              name="name"
              value={v.name}
              placeholder={this._options.notebook
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
          <Field label="Target">
            <select
              className="jp-mod-styled"
              name="target"
              value={v.target}
              onChange={event => set({ target: event.target.value })}
            >
              {this._options.config.targets.map(t => (
                <option key={t.name} value={t.name}>
                  {t.name} ({t.kind})
                </option>
              ))}
            </select>
          </Field>
          <Field
            label="Fired by"
            hint="Kubernetes keeps firing when JupyterLab is stopped"
          >
            <select
              className="jp-mod-styled"
              name="executor"
              value={v.executor}
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

  private _errors(): { cron?: string; timezone?: string } {
    const shape = cronShapeError(this._values.cron);
    if (shape) {
      return { cron: shape };
    }
    if (!this._values.timezone.trim()) {
      return { timezone: 'Enter a time zone, e.g. Europe/Paris or UTC' };
    }
    const message = this._previewError;
    if (!message) {
      return {};
    }
    return /^\s*time ?zone/i.test(message)
      ? { timezone: message }
      : { cron: message };
  }

  private _ready(): boolean {
    return (
      !this._busy &&
      !this._previewPending &&
      this._preview !== null &&
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
}
