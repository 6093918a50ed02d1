import React, { useEffect, useState } from 'react';
import { refreshIcon, ToolbarButtonComponent } from '@jupyterlab/ui-components';
import type { ISignal } from '@lumino/signaling';

import type { ITensorBoard, MlplatApi } from '../api';
import { formatTime } from '../format';
import { usePolled, useSignalVersion } from '../hooks';
import { EmptyState, Section } from '../panel/Section';

export interface ITensorBoardsSectionProps {
  api: MlplatApi;
  interval: number;
  /** Emitted when a TensorBoard was opened elsewhere (a job's detail). */
  changed: ISignal<unknown, void>;
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
  const { api } = props;
  const list = usePolled(() => api.listTensorBoards(), props.interval * 2);
  const version = useSignalVersion(props.changed);
  useEffect(() => {
    if (version > 0) {
      list.refresh();
    }
  }, [version]);
  const [error, setError] = useState<string | null>(null);
  const stop = async (id: string) => {
    setError(null);
    try {
      await api.stopTensorBoard(id);
      list.refresh();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const items = list.data?.tensorboards;
  return (
    <Section
      title="TensorBoards"
      count={items?.length}
      defaultOpen={false}
      actions={
        <ToolbarButtonComponent
          icon={refreshIcon}
          tooltip="Refresh TensorBoards"
          onClick={list.refresh}
        />
      }
    >
      {(error || list.error) && (
        <p className="jp-mlplat-error" role="alert">
          {error || list.error}
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
