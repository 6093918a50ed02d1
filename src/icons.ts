import { LabIcon } from '@jupyterlab/ui-components';

import mlplatSvg from '../style/icons/mlplat.svg';

export const mlplatIcon = new LabIcon({
  name: 'jupyter-mlplat:icon',
  svgstr: mlplatSvg
});
