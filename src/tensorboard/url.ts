/**
 * Where a TensorBoard instance is served (the server's authenticated proxy).
 */
import { URLExt } from '@jupyterlab/coreutils';

import type { ITensorBoard } from '../api';

/**
 * The proxy URL of an instance; the server answers an absolute path.
 */
export function tensorBoardUrl(
  tensorboard: Pick<ITensorBoard, 'id' | 'url'>,
  baseUrl: string
): string {
  if (tensorboard.url.startsWith('/') || /^https?:/.test(tensorboard.url)) {
    return tensorboard.url;
  }
  return URLExt.join(
    baseUrl,
    'jupyter-mlplat',
    'tensorboard',
    encodeURIComponent(tensorboard.id),
    '/'
  );
}
