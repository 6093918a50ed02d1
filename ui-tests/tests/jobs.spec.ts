import { expect, test } from '@jupyterlab/galata';

import { notebook } from './notebooks';

/** A notebook with a cell tagged `parameters` (n = 3) and a cell printing n. */
const NOTEBOOK = notebook('n = 3', 'print(f"n is {n}")');

const PANEL = '#jp-mlplat-panel';

test.use({ autoGoto: true });

test('submit a notebook as a job and follow it to its log', async ({
  page,
  tmpPath
}) => {
  await page.contents.uploadContent(
    NOTEBOOK,
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
  const jobId = (await detail
    .locator('.jp-mlplat-outputs .jp-mlplat-facts')
    .textContent())!.match(/params-(j[0-9a-f]{12})/)![1];
  const job = await (
    await page.request.get(`/jupyter-mlplat/api/jobs/${jobId}`)
  ).json();
  const outputPath: string = job.outputs.notebook;
  const contentsUrl = `/api/contents/${outputPath}?content=0`;
  const before = await (await page.request.get(contentsUrl)).json();
  expect(before.writable).toBe(false);
  await detail.getByRole('button', { name: 'Open output notebook' }).click();
  const output = page.locator('.jp-NotebookPanel.jp-mlplat-output-notebook');
  await expect(output).toContainText('n is 5');
  // JupyterLab's own read-only state shows in the toolbar (the model is
  // read-only and the server reports the file not writable).
  await expect(output.locator('.jp-Toolbar')).toContainText('read-only');
  // No kernel: no session was started for it.
  const sessions = await (await page.request.get('/api/sessions')).json();
  expect(
    sessions.filter(
      (s: any) => s.path === outputPath || s.notebook?.path === outputPath
    )
  ).toHaveLength(0);
  // Its cells cannot be edited; typing and saving change nothing on disk.
  const editor = output.locator('.jp-Cell .cm-content').first();
  await expect(editor).toHaveAttribute('aria-readonly', 'true');
  const firstCell = await editor.textContent();
  await page.screenshot({ path: 'screenshots/output-notebook.png' });
  await editor.click();
  await page.keyboard.type('x = 1');
  await page.keyboard.press('Control+s');
  await page.waitForTimeout(2000);
  await page.screenshot({ path: 'screenshots/output-notebook-save.png' });
  await page.keyboard.press('Escape');
  await expect(editor).toHaveText(firstCell!);
  const after = await (await page.request.get(contentsUrl)).json();
  expect(after.last_modified).toBe(before.last_modified);
  expect(await output.locator('.jp-Cell').count()).toBe(
    (await (await page.request.get(`/api/contents/${outputPath}`)).json())
      .content.cells.length
  );

  // Rerun from the detail view: the dialog comes prefilled with n = 5.
  await page.getByRole('tab', { name: /^params · j[0-9a-f]{6}$/ }).click();
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
