import React from 'react';

import type { IJobEvent } from '../api';
import { formatTime } from '../format';
import { valueToText } from '../params';

/**
 * The parameters a job ran with.
 */
export function ParametersTable(props: {
  parameters: Record<string, unknown>;
}): JSX.Element {
  const entries = Object.entries(props.parameters);
  if (entries.length === 0) {
    return (
      <p className="jp-mlplat-empty">
        No parameters: the notebook ran with its own defaults.
      </p>
    );
  }
  return (
    <table className="jp-mlplat-table">
      <thead>
        <tr>
          <th>Name</th>
          <th>Value</th>
        </tr>
      </thead>
      <tbody>
        {entries.map(([name, value]) => (
          <tr key={name}>
            <td>{name}</td>
            <td>
              <code>{valueToText(value) || '""'}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * What happened to a job, oldest first.
 */
export function EventsTable(props: {
  events: readonly IJobEvent[];
}): JSX.Element {
  return (
    <table className="jp-mlplat-table">
      <thead>
        <tr>
          <th>Time</th>
          <th>State</th>
          <th>Message</th>
        </tr>
      </thead>
      <tbody>
        {props.events.map((event, index) => (
          <tr key={index}>
            <td className="jp-mlplat-nowrap">{formatTime(event.time)}</td>
            <td>{event.state ?? ''}</td>
            <td>{event.message}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
