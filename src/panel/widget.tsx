import React from 'react';
import { ReactWidget } from '@jupyterlab/ui-components';

import { mlplatIcon } from '../icons';
import { type IPanelViewProps, PanelView } from './PanelView';

/**
 * The "ML Platform" sidebar.
 */
export class MlplatPanel extends ReactWidget {
  constructor(private readonly _props: IPanelViewProps) {
    super();
    this.id = 'jp-mlplat-panel';
    this.addClass('jp-mlplat-panel');
    this.title.icon = mlplatIcon;
    this.title.caption = 'ML Platform';
  }

  protected render(): JSX.Element {
    return <PanelView {...this._props} />;
  }
}
