import React, { useState } from 'react';
import { refreshIcon, ToolbarButtonComponent } from '@jupyterlab/ui-components';

import type { ITensorBoard } from '../api';
import { formatTime } from '../format';
import { useSignalVersion } from '../hooks';
import { EmptyState, Section } from '../panel/Section';
import type { TensorBoardsModel } from './model';

export interface ITensorBoardsSectionProps {
  /** The TensorBoards (read and kept current by the model). */
  model: TensorBoardsModel;
  open: (tensorboard: ITensorBoard) => void;
}

const TONES: Record<ITensorBoard['state'], string> = {
  starting: 'waiting',
  running: 'active',
  failed: 'error',
  exited: 'stopped'
};

/**
 * Running TensorBoard instances: open one in a tab, or stop it.
 */
export function TensorBoardsSection(
  props: ITensorBoardsSectionProps
): JSX.Element {
  const { model } = props;
  useSignalVersion(model.changed);
  const [error, setError] = useState<string | null>(null);
  const stop = async (id: string) => {
    setError(null);
    try {
      await model.stop(id);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const items = model.tensorboards;
  return (
    <Section
      title="TensorBoards"
      count={items?.length}
      defaultOpen={false}
      actions={
        <ToolbarButtonComponent
          icon={refreshIcon}
          tooltip="Refresh TensorBoards"
          onClick={() => void model.refresh()}
        />
      }
    >
      {(error || model.error) && (
        <p className="jp-mlplat-error" role="alert">
          {error || model.error}
        </p>
      )}
      {items && items.length === 0 && (
        <EmptyState>
          No TensorBoard is running. Open one from a job’s Outputs tab, or run
          %mlp_tensorboard in a notebook.
        </EmptyState>
      )}
      <ul className="jp-mlplat-tb-list" aria-label="TensorBoards">
        {items?.map(tb => (
          <li key={tb.id} className="jp-mlplat-tb" data-tensorboard={tb.id}>
            <div className="jp-mlplat-job-line">
              <span className="jp-mlplat-job-name" title={tb.logdir}>
                {tb.job_id ? `Job ${tb.job_id}` : tb.logdir}
              </span>
              <span
                className={`jp-mlplat-chip jp-mlplat-tone-${TONES[tb.state]}`}
              >
                {tb.state}
              </span>
            </div>
            <div className="jp-mlplat-run-params" title={tb.logdir}>
              {tb.logdir}
            </div>
            <div className="jp-mlplat-job-meta">
              <span>
                since {formatTime(tb.started)}
                {tb.sync &&
                  ` · ${tb.sync.files} files synced${tb.sync.error ? ` (${tb.sync.error})` : ''}`}
              </span>
              <span className="jp-mlplat-row-actions">
                <button
                  className="jp-mlplat-link"
                  disabled={tb.state === 'failed' || tb.state === 'exited'}
                  onClick={() => props.open(tb)}
                >
                  Open
                </button>
                <button
                  className="jp-mlplat-link jp-mlplat-danger"
                  onClick={() => void stop(tb.id)}
                >
                  Stop
                </button>
              </span>
            </div>
            {tb.error && (
              <div className="jp-mlplat-field-error">{tb.error}</div>
            )}
          </li>
        ))}
      </ul>
    </Section>
  );
}
