import { expect, test } from '@jupyterlab/galata';

import { notebook } from './notebooks';

/** A notebook with a `parameters` cell (n = 3, lr = 0.1) printing them. */
const NOTEBOOK = notebook(['n = 3\n', 'lr = 0.1'], 'print(f"n={n} lr={lr}")');

const PANEL = '#jp-mlplat-panel';

test.use({ autoGoto: true });

test('run a notebook with parameters, compare two runs, schedule it', async ({
  page,
  tmpPath
}) => {
  // A fresh name: the server keeps the history of earlier test runs.
  const file = `train-${Date.now().toString(36)}.ipynb`;
  const nb = `${tmpPath}/${file}`;
  await page.contents.uploadContent(NOTEBOOK, 'text', nb);
  await page.filebrowser.openDirectory(tmpPath);
  const notebookItem = page.locator(
    '.jp-DirListing-item[data-file-type="notebook"]',
    { hasText: file }
  );

  // Two runs from the file browser's context menu, with other parameters.
  for (const n of ['5', '7']) {
    await page.sidebar.openTab('filebrowser');
    await notebookItem.click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Run with Parameters…' }).click();
    const dialog = page.locator('.jp-Dialog');
    const field = dialog.locator('input[name="param-n"]');
    await expect(field).toHaveAttribute('placeholder', '3');
    await expect(dialog.locator('input[name="cpu"]')).toHaveCount(0);
    await field.fill(n);
    if (n === '7') {
      await dialog.locator('input[name="param-lr"]').fill('0.01');
      await page.screenshot({ path: 'screenshots/run-dialog.png' });
    }
    await dialog.getByRole('button', { name: 'Run' }).click();
    await expect(dialog).toHaveCount(0);
  }

  // Both appear in the Runs & Schedules section and succeed.
  await page.sidebar.openTab('jp-mlplat-panel');
  const panel = page.locator(PANEL);
  const section = panel.locator('[data-section="Runs & Schedules"]');
  await section.locator('.jp-mlplat-section-toggle').click();
  const runs = section.locator(`.jp-mlplat-run[data-notebook="${nb}"]`);
  await expect(runs).toHaveCount(2, { timeout: 30_000 });
  for (const i of [0, 1]) {
    await expect(runs.nth(i)).toHaveAttribute('data-state', 'succeeded', {
      timeout: 180_000
    });
  }
  await expect(runs.nth(0)).toContainText('n=7, lr=0.01');

  // Select both → Compare: n changed (5 → 7), lr only set in the second.
  await runs.nth(0).locator('input[type="checkbox"]').check();
  await runs.nth(1).locator('input[type="checkbox"]').check();
  await section.getByRole('button', { name: 'Compare' }).click();
  const diff = section.locator('.jp-mlplat-diff');
  const changed = diff.locator('tr[data-kind="changed"]');
  await expect(changed).toHaveCount(1);
  await expect(changed).toContainText('n57');
  await expect(diff.locator('tr[data-kind="added"]')).toContainText('lr');

  // The output notebook opens from the history.
  await runs.nth(0).getByRole('button', { name: 'Output' }).click();
  await expect(page.locator('.jp-NotebookPanel').last()).toContainText(
    'n=7 lr=0.01',
    { timeout: 30_000 }
  );
  await page.sidebar.openTab('jp-mlplat-panel');
  await panel.screenshot({ path: 'screenshots/runs-panel.png' });

  // Schedule: cron validated as you type, next fire times previewed.
  await page.sidebar.openTab('filebrowser');
  await notebookItem.click({ button: 'right' });
  await page.getByRole('menuitem', { name: 'Schedule Notebook…' }).click();
  const dialog = page.locator('.jp-mlplat-schedule-dialog');
  const cron = dialog.locator('input[name="cron"]');
  const accept = dialog.getByRole('button', { name: 'Schedule' });
  await cron.fill('61 * * * *');
  await expect(dialog.locator('.jp-mlplat-field-error')).toContainText(
    'cron',
    { timeout: 10_000 }
  );
  await expect(accept).toBeDisabled();
  await cron.fill('30 6 * * 1-5');
  await dialog.locator('input[name="timezone"]').fill('Europe/Paris');
  await expect(dialog.locator('.jp-mlplat-preview-times li')).toHaveCount(5, {
    timeout: 10_000
  });
  await expect(dialog.locator('.jp-mlplat-preview-times')).toContainText(
    '06:30'
  );
  await dialog.locator('select[name="concurrency_policy"]').selectOption(
    'replace'
  );
  await page.screenshot({ path: 'screenshots/schedule-dialog.png' });
  await expect(accept).toBeEnabled();
  await accept.click();
  await expect(dialog).toHaveCount(0);

  await page.sidebar.openTab('jp-mlplat-panel');
  const schedule = section
    .locator(`.jp-mlplat-schedule[data-notebook="${nb}"]`)
    .first();
  await expect(schedule).toContainText('Next:');
  await expect(schedule).toContainText('Europe/Paris');
  await schedule.getByRole('button', { name: 'Pause' }).click();
  await expect(schedule).toHaveAttribute('data-paused', 'true');
  await schedule.getByRole('button', { name: 'Resume' }).click();
  await expect(schedule).toHaveAttribute('data-paused', 'false');
  await panel.screenshot({ path: 'screenshots/runs-schedules-panel.png' });
});
