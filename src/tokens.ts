/**
 * Command ids and the token other plugins use to reach the platform.
 */
import { Token } from '@lumino/coreutils';

import type { IPlatformConfig, MlplatApi } from './api';
import type { StorageModel } from './storage/model';

export namespace CommandIDs {
  export const openPanel = 'mlplat:open-panel';
  export const refreshJobs = 'mlplat:refresh-jobs';
  export const openJob = 'mlplat:open-job';
  export const submitNotebook = 'mlplat:submit-notebook';
  export const openCluster = 'mlplat:open-cluster';
  export const copyStorageUrl = 'mlplat:copy-storage-url';
  export const insertReadCode = 'mlplat:insert-read-code';
  export const runNotebook = 'mlplat:run-notebook';
  export const scheduleNotebook = 'mlplat:schedule-notebook';
  export const openTensorBoard = 'mlplat:open-tensorboard';
  export const publishModel = 'mlplat:publish-model';
}

export const PLUGIN_ID = 'jupyter-mlplat:plugin';

export const COMMAND_CATEGORY = 'ML Platform';

/**
 * The platform as the frontend sees it: the API client and the server's
 * config (null when the server extension did not answer).
 */
export interface IMlplat {
  readonly api: MlplatApi;
  readonly config: Promise<IPlatformConfig | null>;
  /** The storage clusters with their health. */
  readonly storage: StorageModel;
}

export const IMlplat = new Token<IMlplat>(
  'jupyter-mlplat:IMlplat',
  'The ML platform REST client and configuration.'
);
