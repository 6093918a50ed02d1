import React from 'react';

import type { IParameter, IPlatformConfig } from '../api';
import { defaultText, parameterKind } from '../params';
import { Field } from './Field';
import { ResourceFields, runtimeDefaults } from './ResourceFields';

/**
 * What the user has typed in the submit dialog.
 */
export interface IFormValues {
  texts: Record<string, string>;
  name: string;
  target: string;
  runtime: string;
  cpu: string;
  memory: string;
  gpu: string;
  /** Output folder (empty: beside the notebook). */
  output: string;
  /** Seconds (empty: no limit). */
  timeout: string;
  /** Globs of files to ship along, one per line or comma-separated. */
  files: string;
  kind: 'job' | 'pytorch' | 'tf';
  workers: string;
}

export interface ISubmitFormProps {
  mode: 'submit' | 'rerun';
  /** Ask for CPU, memory and GPUs (jobs; runs take the runtime's). */
  resources?: boolean;
  source: string;
  config: IPlatformConfig;
  /** Null while the notebook's parameters are being read. */
  parameters: IParameter[] | null;
  parametersError: string | null;
  hasParametersCell: boolean;
  values: IFormValues;
  errors: Record<string, string>;
  serverError: string | null;
  busy: boolean;
  onChange: (values: IFormValues) => void;
}

/**
 * The fields of the submit dialog; validation messages show as you type.
 */
export function SubmitForm(props: ISubmitFormProps): JSX.Element {
  const { values, errors, config } = props;
  const set = (patch: Partial<IFormValues>) =>
    props.onChange({ ...values, ...patch });
  const runtime = config.runtimes.find(r => r.name === values.runtime);
  return (
    <form
      className="jp-mlplat-form"
      onSubmit={event => event.preventDefault()}
      aria-busy={props.busy}
    >
      <p className="jp-mlplat-form-source">
        <code>{props.source}</code>
      </p>
      <fieldset>
        <legend>Parameters</legend>
        <ParameterFields
          parameters={props.parameters}
          parametersError={props.parametersError}
          hasParametersCell={props.hasParametersCell}
          texts={values.texts}
          errors={errors}
          onTexts={texts => set({ texts })}
        />
      </fieldset>
      {props.mode === 'submit' ? (
        <fieldset>
          <legend>Where</legend>
          <Field label="Name" hint="optional">
            <input
              className="jp-mod-styled"
              name="name"
              value={values.name}
              placeholder={props.source
                .replace(/^.*\//, '')
                .replace(/\.ipynb$/, '')}
              onChange={event => set({ name: event.target.value })}
            />
          </Field>
          <Field label="Target">
            <select
              className="jp-mod-styled"
              name="target"
              value={values.target}
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
              value={values.runtime}
              onChange={event => set({ runtime: event.target.value })}
            >
              {config.runtimes.map(r => (
                <option key={r.name} value={r.name}>
                  {r.image ? `${r.name} (${r.image})` : r.name}
                </option>
              ))}
            </select>
          </Field>
          {props.resources !== false && (
            <>
              <ResourceFields
                values={values}
                errors={errors}
                placeholders={runtimeDefaults(runtime)}
                onChange={set}
              />
              {config.targets.find(t => t.name === values.target)?.kind ===
                'kubernetes' && (
                <div className="jp-mlplat-resources">
                  <Field label="Kind">
                    <select
                      className="jp-mod-styled"
                      name="kind"
                      value={values.kind}
                      onChange={event =>
                        set({ kind: event.target.value as IFormValues['kind'] })
                      }
                    >
                      <option value="job">Job</option>
                      <option value="pytorch">PyTorchJob</option>
                      <option value="tf">TFJob</option>
                    </select>
                  </Field>
                  <Field label="Workers" error={errors['workers']}>
                    <input
                      className="jp-mod-styled"
                      name="workers"
                      inputMode="numeric"
                      value={values.workers}
                      placeholder="0"
                      disabled={values.kind === 'job'}
                      onChange={event => set({ workers: event.target.value })}
                    />
                  </Field>
                </div>
              )}
              <Field label="Output folder" hint="optional">
                <input
                  className="jp-mod-styled"
                  name="output"
                  value={values.output}
                  placeholder="beside the notebook: mlplat-outputs"
                  onChange={event => set({ output: event.target.value })}
                />
              </Field>
              <Field
                label="Time limit (s)"
                hint="optional"
                error={errors['timeout']}
              >
                <input
                  className="jp-mod-styled"
                  name="timeout"
                  inputMode="numeric"
                  value={values.timeout}
                  placeholder="none"
                  onChange={event => set({ timeout: event.target.value })}
                />
              </Field>
              <Field
                label="Included files"
                hint="globs relative to the notebook's folder, one per line"
              >
                <textarea
                  className="jp-mod-styled"
                  name="files"
                  rows={2}
                  value={values.files}
                  placeholder="data/*.csv"
                  onChange={event => set({ files: event.target.value })}
                />
              </Field>
            </>
          )}
        </fieldset>
      ) : (
        <p className="jp-mlplat-hint">
          A rerun keeps the target and runtime
          {props.resources !== false ? ' and resources' : ''} of the original.
        </p>
      )}
      {props.serverError && (
        <p className="jp-mlplat-error" role="alert">
          {props.serverError}
        </p>
      )}
    </form>
  );
}

export interface IParameterFieldsProps {
  /** Null while the notebook's parameters are being read. */
  parameters: IParameter[] | null;
  parametersError: string | null;
  hasParametersCell: boolean;
  /** What the user typed, by parameter name (absent: the default). */
  texts: Record<string, string>;
  /** Messages by `param:<name>`. */
  errors: Record<string, string>;
  onTexts: (texts: Record<string, string>) => void;
}

/**
 * The generated form of a notebook's parameters: one field per parameter,
 * typed by its annotation or default, the default as placeholder.
 */
export function ParameterFields(props: IParameterFieldsProps): JSX.Element {
  const { parameters, errors } = props;
  const values = { texts: props.texts };
  if (parameters === null) {
    return <p className="jp-mlplat-hint">Reading the notebook’s parameters…</p>;
  }
  if (parameters.length === 0) {
    return (
      <p className="jp-mlplat-hint">
        {props.parametersError ??
          (props.hasParametersCell
            ? 'The parameters cell declares no variable.'
            : 'This notebook has no cell tagged “parameters”: it runs as it is.')}
      </p>
    );
  }
  const setText = (name: string, text: string) =>
    props.onTexts({ ...values.texts, [name]: text });
  return (
    <>
      {props.parametersError && (
        <p className="jp-mlplat-error">{props.parametersError}</p>
      )}
      {parameters.map(param => {
        const kind = parameterKind(param);
        const text = values.texts[param.name];
        const label = `${param.name}${kind === 'any' ? '' : ` (${kind})`}`;
        if (kind === 'bool') {
          const checked = (text ?? defaultText(param)) === 'true';
          return (
            <Field key={param.name} label={label} hint={param.help}>
              <input
                type="checkbox"
                name={`param-${param.name}`}
                checked={checked}
                onChange={event =>
                  setText(param.name, String(event.target.checked))
                }
              />
            </Field>
          );
        }
        const numeric = kind === 'int' || kind === 'float';
        return (
          <Field
            key={param.name}
            label={label}
            hint={param.help}
            error={errors[`param:${param.name}`]}
          >
            <input
              className="jp-mod-styled"
              name={`param-${param.name}`}
              inputMode={numeric ? 'decimal' : undefined}
              value={text ?? ''}
              placeholder={defaultText(param)}
              onChange={event => setText(param.name, event.target.value)}
            />
          </Field>
        );
      })}
    </>
  );
}
