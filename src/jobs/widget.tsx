import React from 'react';
import { MainAreaWidget } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';

import type { IJob } from '../api';
import { mlplatIcon } from '../icons';
import { type IJobDetailProps, JobDetail } from './JobDetail';
import { jobTitle, shortId } from './listing';

export type JobDetailOptions = Omit<IJobDetailProps, 'onLoaded'>;

/**
 * The job detail view; its title follows the job's name and state.
 */
export class JobDetailWidget extends ReactWidget {
  constructor(private readonly _options: JobDetailOptions) {
    super();
    this.addClass('jp-mlplat-detail-widget');
    this.title.label = shortId(_options.jobId);
    this.title.icon = mlplatIcon;
    this.title.closable = true;
    // A restored tab that is not shown yet is titled too (its view renders
    // only once shown).
    void _options.api
      .getJob(_options.jobId)
      .then(job => this._onLoaded(job))
      .catch(() => undefined);
  }

  get jobId(): string {
    return this._options.jobId;
  }

  protected render(): JSX.Element {
    return (
      <JobDetail {...this._options} onLoaded={job => this._onLoaded(job)} />
    );
  }

  private _onLoaded(job: IJob): void {
    // Two jobs of one notebook share a name: the short id tells their tabs apart.
    this.title.label = jobTitle(job);
    this.title.caption = `Job ${job.id} — ${job.state}`;
  }
}

/**
 * A job detail view wrapped for the main area.
 */
export function createJobDetail(
  options: JobDetailOptions
): MainAreaWidget<JobDetailWidget> {
  const widget = new MainAreaWidget({ content: new JobDetailWidget(options) });
  widget.id = `jp-mlplat-job-${options.jobId}`;
  return widget;
}
