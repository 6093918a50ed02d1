/**
 * The user settings of the extension (schemas/plugin.json), with defaults.
 */
import type { ISettingRegistry } from '@jupyterlab/settingregistry';
import { type ISignal, Signal } from '@lumino/signaling';

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

/**
 * The settings as they are now, and a signal when the user changes them.
 */
export class LiveSettings {
  constructor(settings: ISettingRegistry.ISettings | null) {
    this._current = readSettings(settings);
    settings?.changed.connect(() => {
      this._current = readSettings(settings);
      this._changed.emit(this._current);
    });
  }

  get current(): IMlplatSettings {
    return this._current;
  }

  get changed(): ISignal<this, IMlplatSettings> {
    return this._changed;
  }

  private _current: IMlplatSettings;
  private readonly _changed = new Signal<this, IMlplatSettings>(this);
}
