import React from 'react';

import type { IPlatformConfig } from '../api';
import { EmptyState, Section } from './Section';

export interface IStorageSectionProps {
  clusters: IPlatformConfig['storage'];
  onOpen: (name: string) => void;
}

/**
 * The storage clusters of the platform config, with their kind.
 */
export function StorageSection(props: IStorageSectionProps): JSX.Element {
  return (
    <Section title="Storage" count={props.clusters.length}>
      {props.clusters.length === 0 ? (
        <EmptyState>
          No storage cluster is configured. Add one under `storage` in the
          platform config.
        </EmptyState>
      ) : (
        <ul className="jp-mlplat-clusters">
          {props.clusters.map(cluster => (
            <li key={cluster.name}>
              <button
                className="jp-mlplat-cluster"
                data-cluster={cluster.name}
                title={cluster.namenodes.join('\n') || cluster.name}
                onClick={() => props.onOpen(cluster.name)}
              >
                <span className="jp-mlplat-cluster-name">{cluster.name}</span>
                <span className="jp-mlplat-kind">{cluster.kind}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}
