/**
 * Typed client of the jupyter_mlplat REST API (`<baseUrl>jupyter-mlplat/api`).
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type { components } from './schema';

type Schemas = components['schemas'];

/**
 * A response type: the server always sends every field, including those the
 * OpenAPI file marks optional because they have server-side defaults.
 */
type Answered<T> = { [K in keyof T]-?: T[K] };

export type JobState = Schemas['JobState'];
export type IResources = Schemas['Resources'];
export type IJobSpec = Answered<Schemas['JobSpec']>;
export type IJobEvent = Schemas['JobEvent'];
export type IJob = Answered<Omit<Schemas['Job'], 'spec'>> & { spec: IJobSpec };
export type IJobPage = Omit<Schemas['JobPage'], 'jobs'> & { jobs: IJob[] };
export type ILogChunk = Schemas['LogChunk'];
export type IParameter = Answered<Schemas['Parameter']>;
export type INotebookParameters = Schemas['NotebookParameters'];
export type IPlatformConfig = Schemas['PublicConfig'];
export type IClusterStatus = Answered<Schemas['ClusterStatus']>;
export type IStorageList = { clusters: IClusterStatus[] };
export type RunState = Schemas['RunState'];
export type IRun = Answered<Schemas['Run']>;
export type IRunPage = Omit<Schemas['RunPage'], 'runs'> & { runs: IRun[] };
export type IRunDiff = Answered<Schemas['RunDiff']>;
export type RunRequest = Partial<Schemas['RunRequest']> & { notebook: string };
export type ISchedule = Answered<Schemas['Schedule']>;
export type ISchedulePage = Omit<Schemas['SchedulePage'], 'schedules'> & {
  schedules: ISchedule[];
};
/** Requests: the server fills in what is left out. */
export type ScheduleRequest = Partial<Schemas['ScheduleRequest']> &
  Pick<Schemas['ScheduleRequest'], 'notebook' | 'cron'>;
export type ScheduleUpdate = Partial<Schemas['ScheduleUpdate']>;
export type ISchedulePreview = Schemas['SchedulePreview'];
export type ITensorBoard = Answered<Schemas['TensorBoard']>;
export type ITensorBoardList = Schemas['TensorBoardList'] & {
  tensorboards: ITensorBoard[];
};
export type IModelSummary = Answered<Schemas['ModelSummary']>;
export type IModelList = Omit<Schemas['ModelList'], 'models'> & {
  models: IModelSummary[];
};
export type IModelVersion = Answered<Schemas['ModelVersion']>;
export type IVersionList = { name: string; versions: IModelVersion[] };
export type IDeployment = Answered<Schemas['Deployment']>;
export type PublishRequest = Partial<Schemas['PublishRequest']> &
  Pick<Schemas['PublishRequest'], 'path' | 'name'>;
export type ModelStage = IModelVersion['stage'];
export type DeployRequest = Partial<Schemas['DeployRequest']> &
  Pick<Schemas['DeployRequest'], 'target'>;

/** What a submit may send: the server fills in what is left out. */
export type JobSubmission = Partial<Schemas['JobSpec']>;

export const JOB_STATES: readonly JobState[] = [
  'queued',
  'building',
  'pushing',
  'submitted',
  'pending',
  'running',
  'succeeded',
  'failed',
  'cancelled'
];

export interface IJobQuery {
  state?: JobState[];
  target?: string;
  user?: string;
  notebook?: string;
  limit?: number;
  /** The `next` of the previous page (keyset paging); not with `offset`. */
  cursor?: string;
  offset?: number;
}

/**
 * An error answered by the server: `message` says what to fix.
 */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string | null = null
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * The client; one instance per application, shared by every view.
 */
export class MlplatApi {
  constructor(
    private readonly _settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  getConfig(): Promise<IPlatformConfig> {
    return this._request('config');
  }

  listJobs(query: IJobQuery = {}): Promise<IJobPage> {
    return this._request('jobs', {
      query: {
        state: query.state?.join(','),
        target: query.target,
        user: query.user,
        notebook: query.notebook,
        limit: query.limit,
        cursor: query.cursor,
        offset: query.offset
      }
    });
  }

  getJob(id: string): Promise<IJob> {
    return this._request(`jobs/${encodeURIComponent(id)}`);
  }

  submitJob(spec: JobSubmission): Promise<IJob> {
    return this._request('jobs', { method: 'POST', body: spec });
  }

  cancelJob(id: string): Promise<IJob> {
    return this._request(`jobs/${encodeURIComponent(id)}/cancel`, {
      method: 'POST'
    });
  }

  /** Delete a final job (409 while it runs); `outputs`: its folder too. */
  deleteJob(id: string, outputs = false): Promise<void> {
    return this._request(`jobs/${encodeURIComponent(id)}`, {
      method: 'DELETE',
      query: { outputs: String(outputs) }
    });
  }

  rerunJob(
    id: string,
    parameters: Record<string, unknown> | null
  ): Promise<IJob> {
    return this._request(`jobs/${encodeURIComponent(id)}/rerun`, {
      method: 'POST',
      body: { parameters }
    });
  }

  getLogs(id: string, offset: number, replica?: string): Promise<ILogChunk> {
    return this._request(`jobs/${encodeURIComponent(id)}/logs`, {
      query: { offset, replica }
    });
  }

  listStorage(): Promise<IStorageList> {
    return this._request('storage');
  }

  listRuns(
    query: { notebook?: string; limit?: number } = {}
  ): Promise<IRunPage> {
    return this._request('runs', { query });
  }

  createRun(request: RunRequest): Promise<IRun> {
    return this._request('runs', { method: 'POST', body: request });
  }

  diffRuns(a: string, b: string): Promise<IRunDiff> {
    return this._request('runs/diff', { query: { a, b } });
  }

  rerunRun(
    id: string,
    parameters: Record<string, unknown> | null
  ): Promise<IRun> {
    return this._request(`runs/${encodeURIComponent(id)}/rerun`, {
      method: 'POST',
      body: { parameters }
    });
  }

  listSchedules(): Promise<ISchedulePage> {
    return this._request('schedules', { query: { limit: 200 } });
  }

  createSchedule(request: ScheduleRequest): Promise<ISchedule> {
    return this._request('schedules', { method: 'POST', body: request });
  }

  updateSchedule(id: string, change: ScheduleUpdate): Promise<ISchedule> {
    return this._request(`schedules/${encodeURIComponent(id)}`, {
      method: 'PATCH',
      body: change
    });
  }

  /** Delete a schedule; `runs`: its runs (and their jobs) too. */
  deleteSchedule(
    id: string,
    options: { runs?: boolean; outputs?: boolean } = {}
  ): Promise<void> {
    return this._request(`schedules/${encodeURIComponent(id)}`, {
      method: 'DELETE',
      query: {
        runs: String(!!options.runs),
        outputs: String(!!options.outputs)
      }
    });
  }

  /** Delete a finished run with its job; `outputs`: the job's folder too. */
  deleteRun(id: string, outputs = false): Promise<void> {
    return this._request(`runs/${encodeURIComponent(id)}`, {
      method: 'DELETE',
      query: { outputs: String(outputs) }
    });
  }

  previewSchedule(
    cron: string,
    timezone: string,
    count = 5
  ): Promise<ISchedulePreview> {
    return this._request('schedules/preview', {
      query: { cron, timezone, count }
    });
  }

  listTensorBoards(): Promise<ITensorBoardList> {
    return this._request('tensorboards');
  }

  openTensorBoard(
    source: { logdir: string } | { job_id: string }
  ): Promise<ITensorBoard> {
    return this._request('tensorboards', { method: 'POST', body: source });
  }

  getTensorBoard(id: string): Promise<ITensorBoard> {
    return this._request(`tensorboards/${encodeURIComponent(id)}`);
  }

  stopTensorBoard(id: string): Promise<void> {
    return this._request(`tensorboards/${encodeURIComponent(id)}`, {
      method: 'DELETE'
    });
  }

  listModels(): Promise<IModelList> {
    return this._request('models');
  }

  publishModel(request: PublishRequest): Promise<IModelVersion> {
    return this._request('models', { method: 'POST', body: request });
  }

  listVersions(name: string): Promise<IVersionList> {
    return this._request(`models/${modelPath(name)}/versions`);
  }

  setStage(
    name: string,
    version: number,
    stage: ModelStage
  ): Promise<IModelVersion> {
    return this._request(
      `models/${modelPath(name)}/versions/${version}/stage`,
      {
        method: 'POST',
        body: { stage }
      }
    );
  }

  deployModel(
    name: string,
    version: number,
    request: DeployRequest
  ): Promise<IDeployment> {
    return this._request(
      `models/${modelPath(name)}/versions/${version}/deploy`,
      {
        method: 'POST',
        body: request
      }
    );
  }

  getDeployment(name: string): Promise<IDeployment> {
    return this._request(`models/${modelPath(name)}/deployment`);
  }

  getParameters(path: string): Promise<INotebookParameters> {
    return this._request('parameters', { query: { path } });
  }

  private async _request<T>(
    endpoint: string,
    options: {
      method?: string;
      query?: Record<string, string | number | undefined>;
      body?: unknown;
    } = {}
  ): Promise<T> {
    const url =
      URLExt.join(this._settings.baseUrl, 'jupyter-mlplat', 'api', endpoint) +
      queryString(options.query ?? {});
    const init: RequestInit = { method: options.method ?? 'GET' };
    if (options.body !== undefined) {
      init.body = JSON.stringify(options.body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this._settings);
    } catch (error) {
      throw new ApiError(
        `The server could not be reached: ${(error as Error).message}`,
        0
      );
    }
    const text = await response.text();
    let data: any = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!response.ok) {
      const message =
        typeof data?.message === 'string' && data.message
          ? data.message
          : `${response.status} ${response.statusText}`.trim();
      throw new ApiError(message, response.status, data?.reason ?? null);
    }
    return data as T;
  }
}

/**
 * A model name in a URL: `user/name` under the namespace policy keeps its
 * slash, each part encoded.
 */
function modelPath(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/');
}

/**
 * `?a=1&b=2` of the defined, non-empty values (empty string when none).
 */
export function queryString(
  query: Record<string, string | number | undefined>
): string {
  const parts = Object.entries(query)
    .filter(([, value]) => value !== undefined && value !== '')
    .map(
      ([key, value]) =>
        `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`
    );
  return parts.length ? `?${parts.join('&')}` : '';
}
