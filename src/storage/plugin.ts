/**
 * Storage clusters in JupyterLab: one drive per cluster (`prod-a:path`) on
 * the document manager's contents manager, a file browser per cluster opened
 * from the sidebar, and the "Copy hdfs:// URL" / "Insert code to read this
 * file" context menu of those browsers.
 */
/* eslint-disable jupyter/prefer-lazy-imports -- drives must be registered
   during activation, before the layout restores documents opened on them. */
import type {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Clipboard,
  ICommandPalette,
  Notification,
  showErrorMessage
} from '@jupyterlab/apputils';
import {
  type FileBrowser,
  IFileBrowserFactory,
  Uploader
} from '@jupyterlab/filebrowser';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';
import {
  newFolderIcon,
  notebookIcon,
  refreshIcon,
  ToolbarButton
} from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { clusterIcon } from '../icons';
import { COMMAND_CATEGORY, CommandIDs, IMlplat } from '../tokens';
import { StorageDrive } from './drive';
import { hdfsUrl, readCode } from './paths';
import { BrowserStatus } from './status';

const BROWSER_CLASS = 'jp-mlplat-browser';
/** JupyterLab's directory listing: an entry, and the name in it. */
const LISTING_ITEM_CLASS = 'jp-DirListing-item';
const LISTING_ITEM_TEXT_CLASS = 'jp-DirListing-itemText';
/** Listings of HDFS folders can be long: refresh less often than local. */
const REFRESH_INTERVAL = 30_000;

export const storagePlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-mlplat:storage',
  description:
    'Storage clusters as drives with their own file browsers, and code to read their files.',
  autoStart: true,
  requires: [IMlplat, IFileBrowserFactory],
  optional: [INotebookTracker, ICommandPalette],
  activate
};

async function activate(
  app: JupyterFrontEnd,
  mlplat: IMlplat,
  factory: IFileBrowserFactory,
  notebooks: INotebookTracker | null,
  palette: ICommandPalette | null
): Promise<void> {
  const { commands, shell, serviceManager } = app;
  const { storage } = mlplat;
  // Drives must exist before the layout restores documents opened on them.
  const config = await mlplat.config;
  const clusters = config?.storage.map(c => c.name) ?? [];
  const drives = new Map<string, StorageDrive>();
  for (const cluster of clusters) {
    const drive = new StorageDrive({
      cluster,
      serverSettings: serviceManager.serverSettings
    });
    drives.set(cluster, drive);
    serviceManager.contents.addDrive(drive);
  }
  const browsers = new Map<string, FileBrowser>();

  const openBrowser = (cluster: string): FileBrowser => {
    let browser = browsers.get(cluster);
    if (!browser || browser.isDisposed) {
      browser = createBrowser(
        app,
        factory,
        drives.get(cluster)!,
        storage.url(cluster)
      );
      browsers.set(cluster, browser);
      shell.add(browser, 'left', { rank: 110 + clusters.indexOf(cluster) });
    }
    shell.activateById(browser.id);
    return browser;
  };

  /** The cluster browser the context menu was opened on (or focused). */
  const currentBrowser = (): FileBrowser | null => {
    const node = app.contextMenuHitTest(n =>
      n.classList.contains(BROWSER_CLASS)
    );
    const cluster = node?.dataset.cluster;
    const hit = cluster ? browsers.get(cluster) : undefined;
    if (hit) {
      return hit;
    }
    const focused = factory.tracker.currentWidget;
    return focused?.hasClass(BROWSER_CLASS) ? focused : null;
  };

  /**
   * The item of a cluster browser a context menu was opened on, else its first
   * selected item, as cluster + path. The item under the pointer wins: the
   * listing may still change its selection after the right-click (it selects
   * the file of a document being activated once its folder is re-read).
   */
  const selected = (): {
    cluster: string;
    path: string;
    url: string;
  } | null => {
    const browser = currentBrowser();
    if (!browser) {
      return null;
    }
    const node = app.contextMenuHitTest(n =>
      n.classList.contains(LISTING_ITEM_CLASS)
    );
    const name = node
      ?.querySelector(`.${LISTING_ITEM_TEXT_CLASS}`)
      ?.textContent?.trim();
    const item =
      (node && name && browser.node.contains(node)
        ? Array.from(browser.model.items()).find(m => m.name === name)
        : undefined) ?? browser.selectedItems().next().value;
    if (!item) {
      return null;
    }
    const cluster = browser.node.dataset.cluster ?? '';
    const path = item.path.slice(item.path.indexOf(':') + 1);
    return { cluster, path, url: hdfsUrl(storage.url(cluster), path) };
  };

  commands.addCommand(CommandIDs.openCluster, {
    label: args =>
      args.cluster || args.name
        ? `Open Storage Cluster ${args.cluster ?? args.name}`
        : 'Open Storage Cluster…',
    caption: "Browse a storage cluster's files",
    icon: clusterIcon,
    describedBy: {
      args: {
        type: 'object',
        properties: {
          cluster: { type: 'string', description: 'The cluster name' }
        }
      }
    },
    execute: async args => {
      const cluster = String(args.cluster ?? args.name ?? clusters[0] ?? '');
      if (!clusters.includes(cluster)) {
        await showErrorMessage(
          'Storage',
          `Unknown storage cluster "${cluster}"; configured: ${clusters.join(', ') || 'none'}.`
        );
        return;
      }
      openBrowser(cluster);
    }
  });

  commands.addCommand(CommandIDs.copyStorageUrl, {
    label: 'Copy hdfs:// URL',
    caption: 'Copy the URL code uses to read this file or folder',
    isVisible: () => selected() !== null,
    describedBy: { args: { type: 'object', properties: {} } },
    execute: () => {
      const item = selected();
      if (item) {
        Clipboard.copyToSystem(item.url);
        Notification.success(`Copied ${item.url}`, { autoClose: 3000 });
      }
    }
  });

  commands.addCommand(CommandIDs.insertReadCode, {
    label: 'Insert Code to Read This File',
    caption:
      'Add a cell to the current notebook that reads this file (pandas for tables)',
    isVisible: () => selected() !== null,
    describedBy: { args: { type: 'object', properties: {} } },
    execute: () => {
      const item = selected();
      if (!item) {
        return;
      }
      const code = readCode(item.url);
      const panel = notebooks?.currentWidget;
      if (!panel) {
        Clipboard.copyToSystem(code);
        Notification.info(
          'No notebook is open: the code to read the file was copied to the clipboard.',
          { autoClose: 5000 }
        );
        return;
      }
      const notebook = panel.content;
      const active = notebook.activeCell;
      const reuse =
        active?.model.type === 'code' &&
        active.model.sharedModel.getSource().trim() === '';
      if (!reuse) {
        NotebookActions.insertBelow(notebook);
        NotebookActions.changeCellType(notebook, 'code');
      }
      notebook.activeCell?.model.sharedModel.setSource(code);
      shell.activateById(panel.id);
    }
  });

  for (const command of [CommandIDs.openCluster]) {
    palette?.addItem({ command, category: COMMAND_CATEGORY });
  }
  for (const cluster of clusters) {
    palette?.addItem({
      command: CommandIDs.openCluster,
      args: { cluster },
      category: COMMAND_CATEGORY
    });
  }
}

/**
 * A file browser on the cluster's drive, with its own toolbar (new folder,
 * new notebook, upload, refresh) and the upload/error strip.
 */
function createBrowser(
  app: JupyterFrontEnd,
  factory: IFileBrowserFactory,
  drive: StorageDrive,
  url: string
): FileBrowser {
  const cluster = drive.name;
  const browser = factory.createFileBrowser(`mlplat-${cluster}`, {
    driveName: cluster,
    refreshInterval: REFRESH_INTERVAL
  });
  browser.addClass(BROWSER_CLASS);
  browser.node.dataset.cluster = cluster;
  browser.title.icon = clusterIcon;
  browser.title.caption = `${cluster} — ${url}`;

  const label = new Widget();
  label.addClass('jp-mlplat-browser-label');
  label.node.textContent = cluster;
  label.node.title = url;
  const toolbar = browser.toolbar;
  toolbar.addItem('mlplat-cluster', label);
  toolbar.addItem(
    'new-notebook',
    new ToolbarButton({
      icon: notebookIcon,
      tooltip: `New notebook on ${cluster}`,
      onClick: () =>
        void app.commands.execute('notebook:create-new', {
          cwd: browser.model.path
        })
    })
  );
  toolbar.addItem(
    'new-folder',
    new ToolbarButton({
      icon: newFolderIcon,
      tooltip: 'New folder',
      onClick: () => void browser.createNewDirectory()
    })
  );
  toolbar.addItem('upload', new Uploader({ model: browser.model }));
  toolbar.addItem(
    'refresh',
    new ToolbarButton({
      icon: refreshIcon,
      tooltip: `Refresh ${cluster}`,
      onClick: () => void browser.model.refresh()
    })
  );
  toolbar.addItem('mlplat-status', new BrowserStatus(browser.model, drive));
  return browser;
}
