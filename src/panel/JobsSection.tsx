import React, { useCallback, useState } from 'react';
import { refreshIcon, ToolbarButtonComponent } from '@jupyterlab/ui-components';

import { JOB_STATES, type JobState } from '../api';
import { isFinal } from '../format';
import { useNow, useSignalVersion } from '../hooks';
import { JobRow } from '../jobs/JobRow';
import { countLabel, type JobsModel } from '../jobs/model';
import { EmptyState, Section } from './Section';

const ACTIVE = JOB_STATES.filter(s => !isFinal(s));

export interface IJobsSectionProps {
  model: JobsModel;
  targets: string[];
  onOpen: (id: string) => void;
}

/**
 * The Jobs section: filters and the list, newest first.
 */
export function JobsSection(props: IJobsSectionProps): JSX.Element {
  const { model } = props;
  useSignalVersion(model.changed);
  const [selected, setSelected] = useState<string | null>(null);
  const live = model.jobs.some(job => !isFinal(job.state));
  const now = useNow(live);
  const { onOpen } = props;
  const open = useCallback(
    (id: string) => {
      setSelected(id);
      onOpen(id);
    },
    [onOpen]
  );
  return (
    <Section
      title="Jobs"
      count={
        model.loaded ? countLabel(model.total, model.totalExact) : undefined
      }
      actions={
        <ToolbarButtonComponent
          icon={refreshIcon}
          tooltip="Refresh jobs"
          onClick={() => void model.refresh()}
        />
      }
    >
      <JobFilters model={model} targets={props.targets} />
      {model.error && (
        <p className="jp-mlplat-error" role="alert">
          {model.error}
        </p>
      )}
      {model.loaded && model.jobs.length === 0 && (
        <EmptyState>
          {hasFilter(model)
            ? 'No job matches the filter.'
            : 'No jobs yet. Right-click a notebook → Submit as job, or run %mlp_submit in a cell.'}
        </EmptyState>
      )}
      {model.jobs.length > 0 && (
        <ul className="jp-mlplat-jobs" role="listbox" aria-label="Jobs">
          {model.jobs.map(job => (
            <JobRow
              key={job.id}
              job={job}
              selected={job.id === selected}
              now={isFinal(job.state) ? 0 : now}
              onOpen={open}
            />
          ))}
        </ul>
      )}
    </Section>
  );
}

function hasFilter(model: JobsModel): boolean {
  return model.filter.states.length > 0 || model.filter.target !== '';
}

/**
 * The state and target pickers above the list.
 */
function JobFilters(props: {
  model: JobsModel;
  targets: string[];
}): JSX.Element {
  const { model } = props;
  const { states, target } = model.filter;
  const stateValue =
    states.length === 0 ? '' : states.length === 1 ? states[0] : 'active';
  const setState = (value: string) => {
    const next: JobState[] =
      value === '' ? [] : value === 'active' ? ACTIVE : [value as JobState];
    model.setFilter({ ...model.filter, states: next });
  };
  return (
    <div className="jp-mlplat-filters">
      <label>
        <span className="jp-mlplat-visually-hidden">State</span>
        <select
          className="jp-mlplat-select"
          value={stateValue}
          aria-label="Filter by state"
          onChange={event => setState(event.target.value)}
        >
          <option value="">All states</option>
          <option value="active">Not finished</option>
          {JOB_STATES.map(state => (
            <option key={state} value={state}>
              {state}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span className="jp-mlplat-visually-hidden">Target</span>
        <select
          className="jp-mlplat-select"
          value={target}
          aria-label="Filter by target"
          onChange={event =>
            model.setFilter({ ...model.filter, target: event.target.value })
          }
        >
          <option value="">All targets</option>
          {props.targets.map(name => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}
