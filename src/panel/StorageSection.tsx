import React from 'react';
import { refreshIcon, ToolbarButtonComponent } from '@jupyterlab/ui-components';

import type { IPlatformConfig } from '../api';
import { useSignalVersion } from '../hooks';
import type { StorageModel } from '../storage/model';
import { EmptyState, Section } from './Section';

export interface IStorageSectionProps {
  clusters: IPlatformConfig['storage'];
  model: StorageModel;
  onOpen: (name: string) => void;
}

/**
 * The storage clusters of the platform config with a health dot; a click
 * opens the cluster's file browser.
 */
export function StorageSection(props: IStorageSectionProps): JSX.Element {
  const { model } = props;
  useSignalVersion(model.changed);
  return (
    <Section
      title="Storage"
      count={props.clusters.length}
      actions={
        <ToolbarButtonComponent
          icon={refreshIcon}
          tooltip="Check the clusters' health now"
          onClick={() => void model.refresh()}
        />
      }
    >
      {props.clusters.length === 0 ? (
        <EmptyState>
          No storage cluster is configured. Add one under `storage` in the
          platform config.
        </EmptyState>
      ) : (
        <ul className="jp-mlplat-clusters">
          {props.clusters.map(cluster => {
            const status = model.cluster(cluster.name);
            const health = status?.status ?? 'unknown';
            const tip = [
              status?.url ?? cluster.name,
              health === 'down'
                ? `Down: ${status?.message ?? 'no name node answers'}`
                : health === 'ok'
                  ? 'Healthy'
                  : 'Checking…',
              ...cluster.namenodes
            ].join('\n');
            return (
              <li key={cluster.name}>
                <button
                  className="jp-mlplat-cluster"
                  data-cluster={cluster.name}
                  data-health={health}
                  title={tip}
                  onClick={() => props.onOpen(cluster.name)}
                >
                  <span
                    className={`jp-mlplat-health jp-mlplat-health-${health}`}
                    role="img"
                    aria-label={health}
                  />
                  <span className="jp-mlplat-cluster-name">{cluster.name}</span>
                  <span className="jp-mlplat-kind">{cluster.kind}</span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
      {model.error && (
        <p className="jp-mlplat-error" role="alert">
          {model.error}
        </p>
      )}
    </Section>
  );
}
