/**
 * `mlplat:open-tensorboard`: start (or reuse) TensorBoard on a job's or a
 * folder's logs and show it in a main-area tab through the server's proxy.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import {
  MainAreaWidget,
  showErrorMessage,
  WidgetTracker
} from '@jupyterlab/apputils';
import { IFrame } from '@jupyterlab/ui-components';
import { Signal } from '@lumino/signaling';

import type { ITensorBoard, MlplatApi } from '../api';
import { mlplatIcon } from '../icons';
import { CommandIDs } from '../tokens';
import { tensorBoardUrl } from './url';

export interface ITensorBoardCommands {
  /** Emitted when an instance was started from a command. */
  changed: Signal<object, void>;
  /** Show an instance in its tab (one tab per instance). */
  show: (tensorboard: ITensorBoard) => void;
}

export function registerTensorBoardCommands(
  app: JupyterFrontEnd,
  api: MlplatApi
): ITensorBoardCommands {
  const changed = new Signal<object, void>(api);
  const tracker = new WidgetTracker<MainAreaWidget<IFrame>>({
    namespace: 'mlplat-tensorboard'
  });

  const show = (tb: ITensorBoard): void => {
    const id = `jp-mlplat-tensorboard-${tb.id}`;
    const open = tracker.find(widget => widget.id === id);
    if (open) {
      app.shell.activateById(id);
      return;
    }
    const frame = new IFrame({
      sandbox: [
        'allow-scripts',
        'allow-same-origin',
        'allow-forms',
        'allow-popups',
        'allow-downloads'
      ],
      referrerPolicy: 'same-origin'
    });
    const widget: MainAreaWidget<IFrame> = new MainAreaWidget({
      content: frame
    });
    widget.id = id;
    widget.addClass('jp-mlplat-tensorboard-widget');
    widget.title.label = tb.job_id
      ? `TensorBoard · ${tb.job_id}`
      : `TensorBoard · ${tb.logdir.replace(/\/+$/, '').replace(/^.*\//, '')}`;
    widget.title.caption = tb.logdir;
    widget.title.icon = mlplatIcon;
    widget.title.closable = true;
    void whenRunning(api, tb).then(
      ready =>
        (frame.url = tensorBoardUrl(
          ready,
          app.serviceManager.serverSettings.baseUrl
        )),
      error => {
        widget.dispose();
        void showErrorMessage('TensorBoard did not start', error.message);
      }
    );
    void tracker.add(widget);
    app.shell.add(widget, 'main');
  };

  app.commands.addCommand(CommandIDs.openTensorBoard, {
    label: args =>
      args.jobId ? `Open TensorBoard of Job ${args.jobId}` : 'Open TensorBoard',
    caption: 'TensorBoard on a job’s or a folder’s logs, in a tab',
    describedBy: {
      args: {
        type: 'object',
        properties: {
          jobId: { type: 'string', description: 'A job id' },
          logdir: {
            type: 'string',
            description: 'A folder, or hdfs://<cluster>/path'
          }
        }
      }
    },
    execute: async args => {
      const jobId = typeof args.jobId === 'string' ? args.jobId : '';
      const logdir = typeof args.logdir === 'string' ? args.logdir : '';
      if (!jobId && !logdir) {
        await showErrorMessage(
          'TensorBoard',
          'Open TensorBoard from a job’s Outputs tab, or give a log dir.'
        );
        return;
      }
      try {
        const tb = await api.openTensorBoard(
          jobId ? { job_id: jobId } : { logdir }
        );
        changed.emit();
        show(tb);
      } catch (error) {
        await showErrorMessage(
          'TensorBoard did not start',
          (error as Error).message
        );
      }
    }
  });

  return { changed, show };
}

/**
 * The instance once it serves (the proxy answers 503 while it starts).
 */
async function whenRunning(
  api: MlplatApi,
  tb: ITensorBoard,
  timeoutMs = 120_000
): Promise<ITensorBoard> {
  const deadline = Date.now() + timeoutMs;
  let current = tb;
  while (current.state === 'starting' && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 1000));
    current = await api.getTensorBoard(tb.id);
  }
  if (current.state !== 'running') {
    throw new Error(
      current.error ??
        `TensorBoard ${tb.id} is ${current.state} after ${timeoutMs / 1000}s`
    );
  }
  return current;
}
