import React, { useState } from 'react';
import { refreshIcon, ToolbarButtonComponent } from '@jupyterlab/ui-components';

import type { IRun, IRunDiff, ISchedule } from '../api';
import { formatTime } from '../format';
import { useNow, useSignalVersion } from '../hooks';
import { EmptyState, Section } from '../panel/Section';
import {
  diffRows,
  durationBars,
  formatFireTime,
  formatSeconds,
  metricRows,
  parameterSummary,
  runSeconds,
  runTone
} from './format';
import type { RunsModel } from './model';

export interface IRunsSectionProps {
  /** The runs and schedules (read and kept current by the model). */
  model: RunsModel;
  openPath: (path: string) => void;
  openJob: (id: string) => void;
  /** "Run with parameters…" on the current notebook. */
  runNotebook: () => void;
  /** "Schedule…" on the current notebook. */
  scheduleNotebook: () => void;
  rerun: (run: IRun) => void;
  /** Edit every part of a schedule (notebook, parameters, where, when). */
  editSchedule: (schedule: ISchedule) => void;
  /** Confirm and delete a schedule (with or without its runs); true once gone. */
  deleteSchedule: (schedule: ISchedule) => Promise<boolean>;
  /** Confirm and delete a finished run with its job; true once gone. */
  deleteRun: (run: IRun) => Promise<boolean>;
}

/**
 * Run history (select two to compare their parameters) and schedules.
 */
export function RunsSection(props: IRunsSectionProps): JSX.Element {
  const { model } = props;
  useSignalVersion(model.changed);
  const runs = model.runs;
  const total = model.total + (model.schedules?.length ?? 0);
  return (
    <Section
      title="Runs & Schedules"
      count={runs ? total : undefined}
      defaultOpen={false}
      actions={
        <ToolbarButtonComponent
          icon={refreshIcon}
          tooltip="Refresh runs and schedules"
          onClick={() => void model.refresh()}
        />
      }
    >
      <RunHistory {...props} runs={runs} error={model.error} />
      {/* one read fetches both lists: its error shows once, above */}
      <Schedules {...props} schedules={model.schedules} error={null} />
    </Section>
  );
}

function RunHistory(
  props: IRunsSectionProps & {
    runs?: readonly IRun[];
    error: string | null;
  }
): JSX.Element {
  const { runs, model } = props;
  const [selected, setSelected] = useState<string[]>([]);
  const [diff, setDiff] = useState<IRunDiff | null>(null);
  const [diffError, setDiffError] = useState<string | null>(null);
  const live = runs?.some(run => !run.finished && run.state !== 'skipped');
  const now = useNow(!!live);
  const bars = durationBars(runs ?? [], now);
  const toggle = (id: string) => {
    setDiff(null);
    setSelected(current =>
      current.includes(id)
        ? current.filter(x => x !== id)
        : [...current, id].slice(-2)
    );
  };
  const compare = async () => {
    setDiffError(null);
    try {
      // Older run first: the diff reads "a → b".
      const [b, a] = selected;
      setDiff(await model.diff(a, b));
    } catch (err) {
      setDiffError((err as Error).message);
    }
  };
  const chosen = runs?.find(run => run.id === selected[0]);
  return (
    <div className="jp-mlplat-runs">
      <div className="jp-mlplat-actions">
        <button
          className="jp-mod-styled jp-mod-accept jp-mlplat-button"
          onClick={props.runNotebook}
          title="Run the current notebook with other parameters"
        >
          Run with parameters…
        </button>
        <button
          className="jp-mod-styled jp-mlplat-button"
          disabled={selected.length !== 2}
          onClick={() => void compare()}
          title="Select two runs to compare their parameters"
        >
          Compare
        </button>
        <button
          className="jp-mod-styled jp-mlplat-button"
          disabled={selected.length !== 1 || !chosen}
          onClick={() => chosen && props.rerun(chosen)}
          title="Run the selected run's notebook again with its parameters (editable)"
        >
          Rerun…
        </button>
      </div>
      {props.error && (
        <p className="jp-mlplat-error" role="alert">
          {props.error}
        </p>
      )}
      {runs && runs.length === 0 && (
        <EmptyState>
          No runs yet. Right-click a notebook → Run with Parameters…, or run
          %mlp_run in a cell.
        </EmptyState>
      )}
      {runs && runs.length > 0 && (
        <ul className="jp-mlplat-run-list" aria-label="Runs">
          {runs.map((run, index) => (
            <RunRow
              key={run.id}
              run={run}
              bar={bars[index]}
              now={now}
              selected={selected.includes(run.id)}
              onToggle={() => toggle(run.id)}
              openPath={props.openPath}
              openJob={props.openJob}
              onDelete={() =>
                void props.deleteRun(run).then(done => {
                  if (done) {
                    void model.refresh();
                  }
                })
              }
            />
          ))}
        </ul>
      )}
      {diffError && (
        <p className="jp-mlplat-error" role="alert">
          {diffError}
        </p>
      )}
      {diff && <DiffTable diff={diff} runs={runs ?? []} />}
    </div>
  );
}

function RunRow(props: {
  run: IRun;
  bar: number;
  now: number;
  selected: boolean;
  onToggle: () => void;
  openPath: (path: string) => void;
  openJob: (id: string) => void;
  onDelete: () => void;
}): JSX.Element {
  const { run } = props;
  const name = run.notebook.slice(run.notebook.lastIndexOf('/') + 1);
  const tone = runTone(run.state);
  const params = parameterSummary(run.parameters);
  return (
    <li
      className={`jp-mlplat-run${props.selected ? ' jp-mod-selected' : ''}`}
      data-run={run.id}
      data-notebook={run.notebook}
      data-state={run.state}
    >
      <div className="jp-mlplat-job-line">
        <label className="jp-mlplat-run-name" title={run.notebook}>
          <input
            type="checkbox"
            checked={props.selected}
            onChange={props.onToggle}
            aria-label={`Select run ${run.id}`}
          />
          <span>{name}</span>
        </label>
        <span
          className={`jp-mlplat-chip jp-mlplat-tone-${tone}`}
          data-state={run.state}
        >
          {run.state}
        </span>
      </div>
      <div className="jp-mlplat-run-params" title={params}>
        {params || 'defaults'}
        {run.trigger !== 'manual' && (
          <span className="jp-mlplat-trigger"> · {run.trigger}</span>
        )}
      </div>
      <div className="jp-mlplat-job-meta">
        <span
          className="jp-mlplat-run-bar"
          title={`Duration ${formatSeconds(runSeconds(run, props.now))}`}
        >
          <span
            className={`jp-mlplat-run-bar-fill jp-mlplat-tone-${tone}`}
            style={{ width: `${props.bar}%` }}
          />
        </span>
        <span className="jp-mlplat-live">
          {formatSeconds(runSeconds(run, props.now))}
        </span>
        <span>{formatTime(run.created, props.now)}</span>
        {run.output && run.state === 'succeeded' ? (
          <button
            className="jp-mlplat-link"
            title={run.output}
            onClick={() => props.openPath(run.output!)}
          >
            Output
          </button>
        ) : (
          run.job_id && (
            <button
              className="jp-mlplat-link"
              title={`Job ${run.job_id}`}
              onClick={() => props.openJob(run.job_id!)}
            >
              Job
            </button>
          )
        )}
        {(run.state === 'succeeded' ||
          run.state === 'failed' ||
          run.state === 'cancelled' ||
          run.state === 'skipped') && (
          <button
            className="jp-mlplat-link jp-mlplat-danger"
            aria-label={`Delete run ${run.id}`}
            title="Delete this run and its job…"
            onClick={props.onDelete}
          >
            Delete
          </button>
        )}
      </div>
      {run.error && <div className="jp-mlplat-field-error">{run.error}</div>}
    </li>
  );
}

function DiffTable(props: {
  diff: IRunDiff;
  runs: readonly IRun[];
}): JSX.Element {
  const rows = diffRows(props.diff);
  const metrics = metricRows(props.diff);
  // Two runs often start in the same minute: the short id tells them apart.
  const label = (id: string) => {
    const run = props.runs.find(r => r.id === id);
    return run ? `${id.slice(0, 7)} · ${formatTime(run.created)}` : id;
  };
  const value = (text: string, isDefault?: true) => (
    <>
      <code>{text || '—'}</code>
      {isDefault && <span className="jp-mlplat-default"> default</span>}
    </>
  );
  return (
    <table
      className="jp-mlplat-table jp-mlplat-diff"
      aria-label="Parameter diff"
    >
      <thead>
        <tr>
          <th>Values used</th>
          <th title={props.diff.a}>{label(props.diff.a)}</th>
          <th title={props.diff.b}>{label(props.diff.b)}</th>
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 && (
          <tr>
            <td colSpan={3}>Neither run has parameters.</td>
          </tr>
        )}
        {rows.map(row => (
          <tr
            key={row.name}
            className={`jp-mlplat-diff-${row.kind}`}
            data-kind={row.kind}
            data-name={row.name}
          >
            <td>{row.name}</td>
            <td>{value(row.a, row.defaultA)}</td>
            <td>{value(row.b, row.defaultB)}</td>
          </tr>
        ))}
      </tbody>
      <tbody className="jp-mlplat-metrics">
        <tr>
          <th colSpan={3}>
            Metrics <span className="jp-mlplat-hint">(metrics.json)</span>
          </th>
        </tr>
        {metrics.length === 0 && (
          <tr>
            <td colSpan={3}>
              Neither run wrote metrics.json to its MLPLAT_OUTPUT_DIR.
            </td>
          </tr>
        )}
        {metrics.map(row => (
          <tr key={row.name} data-metric={row.name}>
            <td>{row.name}</td>
            <td>{row.a ?? '—'}</td>
            <td>{row.b ?? '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Schedules(
  props: IRunsSectionProps & {
    schedules?: readonly ISchedule[];
    error: string | null;
  }
): JSX.Element {
  const { model, schedules } = props;
  const [actionError, setActionError] = useState<string | null>(null);
  const now = useNow(true);
  const act = async (action: () => Promise<unknown>) => {
    setActionError(null);
    try {
      await action();
      await model.refresh();
    } catch (err) {
      setActionError((err as Error).message);
    }
  };
  return (
    <div className="jp-mlplat-schedules">
      <div className="jp-mlplat-subheader">
        <span>Schedules</span>
        <button
          className="jp-mod-styled jp-mlplat-button"
          onClick={props.scheduleNotebook}
          title="Run the current notebook on a cron schedule"
        >
          Schedule…
        </button>
      </div>
      {(props.error || actionError) && (
        <p className="jp-mlplat-error" role="alert">
          {actionError || props.error}
        </p>
      )}
      {schedules && schedules.length === 0 && (
        <EmptyState>
          No schedules. Open a notebook and choose Schedule… to run it on a cron
          schedule.
        </EmptyState>
      )}
      <ul className="jp-mlplat-schedule-list" aria-label="Schedules">
        {schedules?.map(schedule => (
          <li
            key={schedule.id}
            className="jp-mlplat-schedule"
            data-schedule={schedule.id}
            data-notebook={schedule.notebook}
            data-paused={schedule.paused}
          >
            <div className="jp-mlplat-job-line">
              <span className="jp-mlplat-job-name" title={schedule.notebook}>
                {schedule.name}
              </span>
              <span
                className={`jp-mlplat-chip jp-mlplat-tone-${schedule.paused ? 'stopped' : 'active'}`}
              >
                {schedule.paused ? 'paused' : schedule.executor}
              </span>
            </div>
            <div className="jp-mlplat-run-params">
              {schedule.description} <code>{schedule.cron}</code>{' '}
              {schedule.timezone}
            </div>
            <div className="jp-mlplat-job-meta">
              <span className="jp-mlplat-next-fire">
                {schedule.paused || !schedule.next_fire
                  ? 'Not firing'
                  : `Next: ${formatFireTime(schedule.next_fire_times[0] ?? schedule.next_fire, schedule.timezone, now)}`}
              </span>
              <span className="jp-mlplat-row-actions">
                <button
                  className="jp-mlplat-link"
                  onClick={() => void act(() => model.togglePaused(schedule))}
                >
                  {schedule.paused ? 'Resume' : 'Pause'}
                </button>
                <button
                  className="jp-mlplat-link"
                  aria-label={`Edit schedule ${schedule.name}`}
                  onClick={() => props.editSchedule(schedule)}
                >
                  Edit…
                </button>
                <button
                  className="jp-mlplat-link jp-mlplat-danger"
                  onClick={() => void act(() => props.deleteSchedule(schedule))}
                >
                  Delete
                </button>
              </span>
            </div>
          </li>
        ))}
      </ul>
    </div>
  );
}
