import { expect, test } from '@jupyterlab/galata';

/** A notebook with a cell tagged `parameters` (n = 3) and a cell printing n. */
const NOTEBOOK = {
  cells: [
    {
      cell_type: 'code',
      execution_count: null,
      metadata: { tags: ['parameters'] },
      outputs: [],
      source: ['n = 3']
    },
    {
      cell_type: 'code',
      execution_count: null,
      metadata: {},
      outputs: [],
      source: ['print(f"n is {n}")']
    }
  ],
  metadata: {
    kernelspec: { display_name: 'Python 3', language: 'python', name: 'python3' },
    language_info: { name: 'python' }
  },
  nbformat: 4,
  nbformat_minor: 5
};

const PANEL = '#jp-mlplat-panel';

test.use({ autoGoto: true });

test('submit a notebook as a job and follow it to its log', async ({
  page,
  tmpPath
}) => {
  await page.contents.uploadContent(
    JSON.stringify(NOTEBOOK),
    'text',
    `${tmpPath}/params.ipynb`
  );
  await page.filebrowser.openDirectory(tmpPath);

  // The ML Platform sidebar shows its sections.
  await page.sidebar.openTab('jp-mlplat-panel');
  const panel = page.locator(PANEL);
  await expect(panel.locator('.jp-mlplat-section-title').first()).toHaveText(
    'Jobs'
  );
  await expect(panel.locator('[data-section="Storage"]')).toContainText(
    'local'
  );

  // Right-click the notebook in the file browser → Submit as Job…
  await page.sidebar.openTab('filebrowser');
  await page
    .locator('.jp-DirListing-item[data-file-type="notebook"]', {
      hasText: 'params.ipynb'
    })
    .click({ button: 'right' });
  await page.getByRole('menuitem', { name: 'Submit as Job…' }).click();

  const dialog = page.locator('.jp-mlplat-submit-dialog');
  const field = dialog.locator('input[name="param-n"]');
  await expect(field).toBeVisible();
  await expect(field).toHaveAttribute('placeholder', '3');

  // Validation as you type: an int field refuses 5.5.
  const submit = dialog.locator('.jp-Dialog-button.jp-mod-accept');
  await field.fill('5.5');
  await expect(dialog.locator('.jp-mlplat-field-error')).toContainText(
    'whole number'
  );
  await expect(submit).toBeDisabled();
  await field.fill('5');
  await expect(submit).toBeEnabled();
  await page.screenshot({ path: 'screenshots/submit-dialog.png' });
  await submit.click();
  await expect(dialog).toHaveCount(0);

  // The job reaches `succeeded` in the panel.
  await page.sidebar.openTab('jp-mlplat-panel');
  const row = panel.locator('.jp-mlplat-job', { hasText: 'params' }).first();
  await expect(row).toBeVisible();
  await expect(row).toHaveAttribute('data-state', 'succeeded', {
    timeout: 180 * 1000
  });
  await panel.screenshot({ path: 'screenshots/panel.png' });

  // Its detail: parameters, timeline, and the log with the printed value.
  await row.click();
  const detail = page.locator('.jp-mlplat-detail').last();
  await expect(detail.locator('.jp-mlplat-detail-title')).toContainText(
    'succeeded'
  );
  await expect(detail.locator('.jp-mlplat-log')).toContainText('n is 5', {
    timeout: 30 * 1000
  });
  await expect(detail.locator('.jp-mlplat-timeline')).toBeVisible();
  await page.screenshot({ path: 'screenshots/job-detail.png' });

  await detail.getByRole('tab', { name: 'Parameters' }).click();
  await expect(detail.locator('.jp-mlplat-table')).toContainText('5');
  await detail.getByRole('tab', { name: 'Events' }).click();
  await expect(detail.locator('.jp-mlplat-table')).toContainText('succeeded');
  await detail.getByRole('tab', { name: 'Outputs' }).click();
  await detail.getByRole('button', { name: 'Open output notebook' }).click();
  await expect(page.locator('.jp-NotebookPanel').last()).toContainText(
    'n is 5'
  );
  await page.screenshot({ path: 'screenshots/output-notebook.png' });

  // Rerun from the detail view: the dialog comes prefilled with n = 5.
  await page.getByRole('tab', { name: 'params', exact: true }).click();
  await detail.getByRole('button', { name: 'Rerun' }).click();
  const rerun = page.locator('.jp-mlplat-submit-dialog');
  await expect(rerun.locator('input[name="param-n"]')).toHaveValue('5');
  await rerun.locator('input[name="param-n"]').fill('7');
  await rerun.locator('.jp-Dialog-button.jp-mod-accept').click();
  await expect(rerun).toHaveCount(0);
  const second = page.locator('.jp-mlplat-detail').last();
  await expect(second.locator('.jp-mlplat-detail-title')).toContainText(
    'succeeded',
    { timeout: 180 * 1000 }
  );
  await expect(second.locator('.jp-mlplat-log')).toContainText('n is 7');
  await expect(second.locator('.jp-mlplat-facts')).toContainText('Rerun of');

  await page.theme.setDarkTheme();
  await page.screenshot({ path: 'screenshots/job-detail-dark.png' });
});
