/**
 * Which notebook a run or schedule command is for: given (`path`), the one
 * selected in the file browser (`origin: 'filebrowser'`), the current one,
 * or asked (`pick: true`); saved first when it has unsaved changes.
 */
import { InputDialog, showErrorMessage } from '@jupyterlab/apputils';
import type { IDocumentManager } from '@jupyterlab/docmanager';
import type { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import type { INotebookTracker } from '@jupyterlab/notebook';

import type { IPlatformConfig } from '../api';
import { SERVER_MISSING_MESSAGE } from '../panel/PanelView';

export interface INotebookChoiceOptions {
  config: Promise<IPlatformConfig | null>;
  docManager: IDocumentManager;
  notebooks: INotebookTracker | null;
  fileBrowser: IDefaultFileBrowser | null;
}

export interface INotebookChoice {
  /** The notebook from the command's context (null when there is none). */
  notebookPath: (args: Record<string, unknown>) => string | null;
  /** The notebook a command is for: asked when `pick`, else from context. */
  target: (
    args: Record<string, unknown>,
    title: string
  ) => Promise<string | null>;
  /** The config, or null after telling the user why there is none. */
  ready: (path: string) => Promise<IPlatformConfig | null>;
  /** The commands' arguments, described for the palette and tools. */
  describedBy: {
    args: {
      type: 'object';
      properties: Record<string, { type: string; description: string }>;
    };
  };
}

export function notebookChoice(
  options: INotebookChoiceOptions
): INotebookChoice {
  const { notebooks, fileBrowser } = options;

  const notebookPath = (args: Record<string, unknown>): string | null => {
    if (typeof args.path === 'string' && args.path) {
      return args.path;
    }
    const selected = (): string | null => {
      for (const item of fileBrowser?.selectedItems() ?? []) {
        if (item.type === 'notebook') {
          return item.path;
        }
      }
      return null;
    };
    if (args.origin === 'filebrowser') {
      return selected();
    }
    return notebooks?.currentWidget?.context.path ?? selected();
  };

  /**
   * Ask which notebook (`pick: true`): the notebooks of the file browser's
   * folder and the open ones, the selected (or current) one first; any path
   * can be typed.
   */
  const pickNotebook = async (title: string): Promise<string | null> => {
    const preferred =
      notebookPath({ origin: 'filebrowser' }) ?? notebookPath({});
    const candidates = new Set<string>(preferred ? [preferred] : []);
    for (const item of fileBrowser?.model.items() ?? []) {
      if (item.type === 'notebook') {
        candidates.add(item.path);
      }
    }
    notebooks?.forEach(widget => void candidates.add(widget.context.path));
    const answer = await InputDialog.getItem({
      title,
      label: 'Notebook (path from the Jupyter root)',
      items: [...candidates],
      current: preferred ?? '',
      editable: true,
      placeholder: 'folder/notebook.ipynb'
    });
    const path = answer.button.accept ? (answer.value ?? '').trim() : '';
    return path || null;
  };

  /** The notebook a command is for: asked when `pick`, else from context. */
  const target = async (
    args: Record<string, unknown>,
    title: string
  ): Promise<string | null> =>
    args.pick === true ? pickNotebook(title) : notebookPath(args);

  /** The config, or null after telling the user why there is none. */
  const ready = async (path: string): Promise<IPlatformConfig | null> => {
    const config = await options.config;
    if (!config) {
      await showErrorMessage('ML Platform', SERVER_MISSING_MESSAGE);
      return null;
    }
    const widget = options.docManager.findWidget(path);
    const context = widget && options.docManager.contextForWidget(widget);
    if (context?.model.dirty) {
      await context.save();
    }
    return config;
  };

  const describedBy = {
    args: {
      type: 'object' as const,
      properties: {
        path: { type: 'string', description: 'The notebook path' },
        origin: {
          type: 'string',
          description: '"filebrowser" to use the selected notebook'
        },
        pick: {
          type: 'boolean',
          description: 'Ask which notebook (the selected one proposed)'
        }
      }
    }
  };

  return { notebookPath, target, ready, describedBy };
}
