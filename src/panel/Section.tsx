import React, { useState } from 'react';
import { caretDownIcon, caretRightIcon } from '@jupyterlab/ui-components';

export interface ISectionProps {
  title: string;
  /** Shown in the header when defined (a label such as `10,000+` as is). */
  count?: number | string;
  /** Controls shown at the right of the header (e.g. refresh). */
  actions?: React.ReactNode;
  defaultOpen?: boolean;
  children: React.ReactNode;
}

/**
 * A collapsible section of the sidebar, with a count in its header.
 */
export function Section(props: ISectionProps): JSX.Element {
  const [open, setOpen] = useState(props.defaultOpen ?? true);
  const Caret = open ? caretDownIcon : caretRightIcon;
  return (
    <section
      className="jp-mlplat-section"
      data-section={props.title}
      aria-expanded={open}
    >
      <header className="jp-mlplat-section-header">
        <button
          className="jp-mlplat-section-toggle"
          onClick={() => setOpen(!open)}
          aria-expanded={open}
        >
          <Caret.react tag="span" className="jp-mlplat-caret" />
          <span className="jp-mlplat-section-title">{props.title}</span>
          {props.count !== undefined && (
            <span className="jp-mlplat-count">{props.count}</span>
          )}
        </button>
        {open && props.actions}
      </header>
      {open && <div className="jp-mlplat-section-body">{props.children}</div>}
    </section>
  );
}

/**
 * What to show when a section has nothing: says what to do next.
 */
export function EmptyState(props: { children: React.ReactNode }): JSX.Element {
  return <p className="jp-mlplat-empty">{props.children}</p>;
}
