/**
 * The user settings of the extension (schemas/plugin.json), with defaults.
 */
import type { ISettingRegistry } from '@jupyterlab/settingregistry';

export interface IMlplatSettings {
  pollInterval: number;
  defaultTarget: string;
  openDetailOnSubmit: boolean;
}

export const DEFAULT_SETTINGS: IMlplatSettings = {
  pollInterval: 2000,
  defaultTarget: '',
  openDetailOnSubmit: true
};

export function readSettings(
  settings: ISettingRegistry.ISettings | null
): IMlplatSettings {
  const composite = (settings?.composite ?? {}) as Partial<IMlplatSettings>;
  return { ...DEFAULT_SETTINGS, ...composite };
}
