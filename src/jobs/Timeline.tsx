import React from 'react';

import type { IJobEvent } from '../api';
import {
  formatDuration,
  formatTime,
  layoutTimeline,
  stateTone,
  timelineSegments
} from '../format';

const pct = (fraction: number) => `${(fraction * 100).toFixed(3)}%`;

/**
 * The states of a job over time, as a strip of coloured segments.
 */
export function Timeline(props: {
  events: readonly IJobEvent[];
  now: number;
}): JSX.Element | null {
  const boxes = layoutTimeline(timelineSegments(props.events, props.now));
  if (boxes.length === 0) {
    return null;
  }
  return (
    <svg
      className="jp-mlplat-timeline"
      width="100%"
      height="28"
      role="img"
      aria-label={`Timeline: ${boxes.map(b => b.segment.state).join(', ')}`}
    >
      {boxes.map(({ segment, x, width }) => {
        const duration = formatDuration(segment.end - segment.start);
        const tooltip = [
          `${segment.state} — ${formatTime(new Date(segment.start).toISOString())}` +
            (segment.end > segment.start ? ` (${duration})` : ''),
          ...segment.messages
        ].join('\n');
        return (
          <g
            key={`${segment.state}-${segment.start}`}
            data-state={segment.state}
          >
            <title>{tooltip}</title>
            <rect
              className={`jp-mlplat-segment jp-mlplat-tone-${stateTone(segment.state)}`}
              x={pct(x)}
              y="0"
              width={pct(width)}
              height="28"
            />
            <text
              className={`jp-mlplat-segment-label jp-mlplat-tone-${stateTone(segment.state)}`}
              x={pct(x + width / 2)}
              y="18"
              textAnchor="middle"
            >
              {width > 0.12 ? segment.state : ''}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
