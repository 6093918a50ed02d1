import React from 'react';

import { Field } from './Field';

export interface IResourceTexts {
  cpu: string;
  memory: string;
  gpu: string;
}

/**
 * What an empty field means in a job's form: the runtime's own resources, or
 * the target's defaults when the runtime names none.
 */
export function runtimeDefaults(
  runtime:
    | {
        resources: {
          cpu?: string | null;
          memory?: string | null;
          gpu?: number | null;
        };
      }
    | undefined
): IResourceTexts {
  return {
    cpu: runtime?.resources.cpu ?? 'default',
    memory: runtime?.resources.memory ?? 'default',
    gpu: String(runtime?.resources.gpu ?? 0)
  };
}

/**
 * CPU, memory and GPU side by side, as the submit, schedule and deploy forms
 * ask for them; `placeholders` say what an empty field means there.
 */
export function ResourceFields(props: {
  values: IResourceTexts;
  errors: Partial<Record<keyof IResourceTexts, string>>;
  placeholders: IResourceTexts;
  onChange: (change: Partial<IResourceTexts>) => void;
}): JSX.Element {
  const { values, errors, placeholders, onChange } = props;
  return (
    <div className="jp-mlplat-resources">
      <Field label="CPU" error={errors.cpu}>
        <input
          className="jp-mod-styled"
          name="cpu"
          value={values.cpu}
          placeholder={placeholders.cpu}
          onChange={event => onChange({ cpu: event.target.value })}
        />
      </Field>
      <Field label="Memory" error={errors.memory}>
        <input
          className="jp-mod-styled"
          name="memory"
          value={values.memory}
          placeholder={placeholders.memory}
          onChange={event => onChange({ memory: event.target.value })}
        />
      </Field>
      <Field label="GPU" error={errors.gpu}>
        <input
          className="jp-mod-styled"
          name="gpu"
          inputMode="numeric"
          value={values.gpu}
          placeholder={placeholders.gpu}
          onChange={event => onChange({ gpu: event.target.value })}
        />
      </Field>
    </div>
  );
}
