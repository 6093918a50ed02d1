/**
 * A job's output notebook opens read-only and without a kernel: it is the
 * record of what the job ran and printed (the server refuses to save over
 * it as well).
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { IDocumentManager } from '@jupyterlab/docmanager';
import {
  type NotebookPanel,
  NotebookWidgetFactory
} from '@jupyterlab/notebook';

/** The widget factory of read-only output notebooks (also in "Open With"). */
export const OUTPUT_NOTEBOOK_FACTORY = 'Job Output (read-only)';

/**
 * Register the read-only notebook factory, built from the default
 * notebook factory's renderers and editor settings. False when there is
 * no notebook factory to build on.
 */
export function registerOutputNotebookFactory(
  app: JupyterFrontEnd,
  base: NotebookWidgetFactory.IFactory | null
): boolean {
  if (!base || !(base instanceof NotebookWidgetFactory)) {
    return false;
  }
  const factory = new NotebookWidgetFactory({
    name: OUTPUT_NOTEBOOK_FACTORY,
    label: 'Job Output (read-only)',
    fileTypes: ['notebook'],
    modelName: base.modelName ?? 'notebook',
    preferKernel: false,
    canStartKernel: false,
    shutdownOnClose: true,
    readOnly: true,
    rendermime: base.rendermime,
    contentFactory: base.contentFactory,
    mimeTypeService: base.mimeTypeService,
    editorConfig: base.editorConfig,
    notebookConfig: base.notebookConfig
  });
  factory.widgetCreated.connect((_, panel) => makeReadOnly(panel));
  app.docRegistry.addWidgetFactory(factory);
  return true;
}

/**
 * Open a job's output notebook read-only (or, without the factory, as any
 * notebook: the server still refuses to save over it).
 */
export async function openOutputNotebook(
  docManager: IDocumentManager,
  path: string,
  readOnly: boolean
): Promise<void> {
  const widget = readOnly
    ? docManager.openOrReveal(path, OUTPUT_NOTEBOOK_FACTORY)
    : docManager.openOrReveal(path);
  if (!widget) {
    throw new Error(`Could not open ${path}`);
  }
}

function makeReadOnly(panel: NotebookPanel): void {
  panel.addClass('jp-mlplat-output-notebook');
  const { context } = panel;
  const lock = () => {
    for (const cell of panel.content.widgets) {
      cell.readOnly = true;
    }
  };
  // Nothing here is to be saved: a change of display state never makes the
  // record "modified", so neither autosave nor the close dialog touches it.
  context.model.stateChanged.connect((model, change) => {
    if (change.name === 'dirty' && change.newValue) {
      model.dirty = false;
    }
  });
  void context.ready.then(() => {
    if (panel.isDisposed) {
      return;
    }
    context.model.readOnly = true;
    context.model.dirty = false;
    lock();
    panel.content.model?.cells.changed.connect(lock);
    panel.content.mode = 'command';
  });
}
