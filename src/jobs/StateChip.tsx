import React from 'react';

import type { JobState } from '../api';
import { stateTone } from '../format';

/**
 * A job state as a small coloured chip.
 */
export function StateChip(props: { state: JobState }): JSX.Element {
  return (
    <span
      className={`jp-mlplat-chip jp-mlplat-tone-${stateTone(props.state)}`}
      data-state={props.state}
    >
      {props.state}
    </span>
  );
}
