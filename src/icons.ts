import { LabIcon } from '@jupyterlab/ui-components';

import clusterSvg from '../style/icons/cluster.svg';
import mlplatSvg from '../style/icons/mlplat.svg';

export const mlplatIcon = new LabIcon({
  name: 'jupyter-mlplat:icon',
  svgstr: mlplatSvg
});

/** A storage cluster (its file browser's tab). */
export const clusterIcon = new LabIcon({
  name: 'jupyter-mlplat:cluster',
  svgstr: clusterSvg
});
