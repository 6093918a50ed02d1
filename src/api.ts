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
