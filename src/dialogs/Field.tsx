import React from 'react';

/**
 * A labelled form field with its hint, or its validation error once there is one.
 */
export function Field(props: {
  label: string;
  hint?: string;
  error?: string;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <label
      className={`jp-mlplat-field${props.error ? ' jp-mlplat-invalid' : ''}`}
    >
      <span className="jp-mlplat-field-label">{props.label}</span>
      {props.children}
      {props.error ? (
        <span className="jp-mlplat-field-error">{props.error}</span>
      ) : (
        props.hint && <span className="jp-mlplat-field-hint">{props.hint}</span>
      )}
    </label>
  );
}
