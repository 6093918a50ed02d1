/**
 * Storage in the sidebar: the clusters with their health (the drives,
 * browsers and context menus are the storage plugin's, `./plugin.ts`).
 */
import type { IMlplatContext } from '../context';
import { StorageModel } from './model';

export function registerStorage(context: IMlplatContext): StorageModel {
  const model = new StorageModel(context.api);
  void context.config.then(answer => {
    if (answer) {
      void model.start();
    }
  });
  return model;
}
