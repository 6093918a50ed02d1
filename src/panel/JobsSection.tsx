import React, { useCallback, useEffect, useMemo, useState } from 'react';
import { refreshIcon, ToolbarButtonComponent } from '@jupyterlab/ui-components';

import {
  type IJob,
  type IParameter,
  JOB_STATES,
  type JobState,
  type MlplatApi
} from '../api';
import { isFinal } from '../format';
import { useNow, useSignalVersion } from '../hooks';
import { JobRow } from '../jobs/JobRow';
import {
  changedParameters,
  type IStoredListing,
  loadListing,
  matchesSearch,
  saveListing,
  type Trigger,
  triggerOf
} from '../jobs/listing';
import { countLabel, type JobsModel } from '../jobs/model';
import { EmptyState, Section } from './Section';

const ACTIVE = JOB_STATES.filter(s => !isFinal(s));

export interface IJobsSectionProps {
  model: JobsModel;
  api: MlplatApi;
  targets: string[];
  onOpen: (id: string) => void;
  /** Confirm and delete a job (cancelled first if it still runs). */
  onDelete: (job: IJob) => Promise<boolean>;
}

/**
 * The defaults of each notebook's parameters, fetched once per notebook.
 */
function useNotebookDefaults(
  api: MlplatApi,
  notebooks: string[]
): ReadonlyMap<string, IParameter[]> {
  const [known, setKnown] = useState<ReadonlyMap<string, IParameter[]>>(
    new Map()
  );
  const key = notebooks.join('\n');
  useEffect(() => {
    let live = true;
    const missing = notebooks.filter(nb => !known.has(nb));
    for (const notebook of missing) {
      api
        .getParameters(notebook)
        .then(answer => answer.parameters as IParameter[])
        .catch(() => [] as IParameter[]) // gone or unreadable: show every value
        .then(parameters => {
          if (live) {
            setKnown(current => new Map(current).set(notebook, parameters));
          }
        });
    }
    return () => {
      live = false;
    };
  }, [key]);
  return known;
}

/**
 * The current time, ticking once a minute (the "5m ago" of finished jobs).
 */
function useMinute(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 60_000);
    return () => window.clearInterval(timer);
  }, []);
  return now;
}

/**
 * The Jobs section: search, filters (kept across reloads) and the list,
 * newest first.
 */
export function JobsSection(props: IJobsSectionProps): JSX.Element {
  const { model, api } = props;
  useSignalVersion(model.changed);
  const [selected, setSelected] = useState<string | null>(null);
  const [listing, setListing] = useState<IStoredListing>(loadListing);
  useEffect(() => {
    // The stored state and target filters apply on the server's side.
    const { states, target } = listing;
    if (
      states.join() !== model.filter.states.join() ||
      target !== model.filter.target
    ) {
      model.setFilter({ states, target });
    }
  }, []);
  const update = (change: Partial<IStoredListing>) => {
    const next = { ...listing, ...change };
    setListing(next);
    saveListing(next);
    if ('states' in change || 'target' in change) {
      model.setFilter({ states: next.states, target: next.target });
    }
  };
  const runsByJob = model.runsByJob;
  const notebooks = useMemo(
    () =>
      [
        ...new Set(
          model.jobs.map(job => job.spec.notebook ?? '').filter(Boolean)
        )
      ].sort(),
    [model.jobs]
  );
  const defaults = useNotebookDefaults(api, notebooks);
  const live = model.jobs.some(job => !isFinal(job.state));
  const now = useNow(live);
  const minute = useMinute();
  const { onOpen } = props;
  const open = useCallback(
    (id: string) => {
      setSelected(id);
      onOpen(id);
    },
    [onOpen]
  );
  const { onDelete } = props;
  const remove = useCallback(
    (job: IJob) => {
      void onDelete(job).then(done => {
        if (done) {
          void model.refresh();
        }
      });
    },
    [onDelete, model]
  );
  const shown = model.jobs.filter(
    job =>
      matchesSearch(job, listing.search) &&
      (!listing.trigger || triggerOf(job, runsByJob) === listing.trigger)
  );
  const narrowed = listing.search !== '' || listing.trigger !== '';
  return (
    <Section
      title="Jobs"
      count={
        model.loaded
          ? narrowed
            ? `${shown.length} of ${countLabel(model.total, model.totalExact)}`
            : countLabel(model.total, model.totalExact)
          : undefined
      }
      actions={
        <ToolbarButtonComponent
          icon={refreshIcon}
          tooltip="Refresh jobs"
          onClick={() => void model.refresh()}
        />
      }
    >
      <JobFilters listing={listing} update={update} targets={props.targets} />
      {model.error && (
        <p className="jp-mlplat-error" role="alert">
          {model.error}
        </p>
      )}
      {model.loaded && shown.length === 0 && (
        <EmptyState>
          {hasFilter(listing)
            ? 'No job matches the search or filters.'
            : 'No jobs yet. Right-click a notebook → Submit as job, or run %mlp_submit in a cell.'}
        </EmptyState>
      )}
      {shown.length > 0 && (
        <ul className="jp-mlplat-jobs" role="listbox" aria-label="Jobs">
          {shown.map(job => (
            <JobRow
              key={job.id}
              job={job}
              selected={job.id === selected}
              now={isFinal(job.state) ? minute : now}
              changed={changedParameters(
                job.spec.parameters,
                job.spec.notebook ? defaults.get(job.spec.notebook) : []
              ).join('  ')}
              trigger={triggerOf(job, runsByJob)}
              onOpen={open}
              onDelete={remove}
            />
          ))}
        </ul>
      )}
    </Section>
  );
}

function hasFilter(listing: IStoredListing): boolean {
  return (
    listing.states.length > 0 ||
    listing.target !== '' ||
    listing.search !== '' ||
    listing.trigger !== ''
  );
}

/**
 * The search box and the state, target and trigger pickers above the list.
 */
function JobFilters(props: {
  listing: IStoredListing;
  update: (change: Partial<IStoredListing>) => void;
  targets: string[];
}): JSX.Element {
  const { listing, update } = props;
  const { states, target } = listing;
  const stateValue =
    states.length === 0 ? '' : states.length === 1 ? states[0] : 'active';
  const setState = (value: string) => {
    const next: JobState[] =
      value === '' ? [] : value === 'active' ? ACTIVE : [value as JobState];
    update({ states: next });
  };
  return (
    <div className="jp-mlplat-filters">
      <label className="jp-mlplat-search">
        <span className="jp-mlplat-visually-hidden">Search jobs</span>
        <input
          type="search"
          className="jp-mlplat-input"
          placeholder="Search name, id, parameter…"
          aria-label="Search jobs"
          value={listing.search}
          onChange={event => update({ search: event.target.value })}
        />
      </label>
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
          onChange={event => update({ target: event.target.value })}
        >
          <option value="">All targets</option>
          {props.targets.map(name => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span className="jp-mlplat-visually-hidden">Started by</span>
        <select
          className="jp-mlplat-select"
          value={listing.trigger}
          aria-label="Filter by trigger"
          onChange={event =>
            update({ trigger: event.target.value as Trigger | '' })
          }
        >
          <option value="">Any trigger</option>
          <option value="manual">manual</option>
          <option value="rerun">rerun</option>
          <option value="schedule">schedule</option>
        </select>
      </label>
    </div>
  );
}
