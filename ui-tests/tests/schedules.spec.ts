import { expect, test } from '@jupyterlab/galata';

import { notebook } from './notebooks';

const PANEL = '#jp-mlplat-panel';
const API = '/jupyter-mlplat/api';

// The browser's time zone is a new schedule's default.
test.use({ autoGoto: true, timezoneId: 'America/New_York' });

test('a schedule is a job definition: pick the notebook, then edit every part of it', async ({
  page,
  tmpPath
}) => {
  const stamp = Date.now().toString(36);
  const daily = `${tmpPath}/daily-${stamp}.ipynb`;
  const weekly = `${tmpPath}/weekly-${stamp}.ipynb`;
  await page.contents.uploadContent(
    notebook('n = 3\nlr = 0.5', 'print(n, lr)'),
    'text',
    daily
  );
  await page.contents.uploadContent(
    notebook('n: int = 1\nlabel = "x"', 'print(n, label)'),
    'text',
    weekly
  );
  await page.filebrowser.openDirectory(tmpPath);
  await page
    .locator('.jp-DirListing-item[data-file-type="notebook"]', {
      hasText: `daily-${stamp}`
    })
    .click();

  // The panel's Schedule… asks which notebook, proposing the selected one.
  await page.sidebar.openTab('jp-mlplat-panel');
  const section = page
    .locator(PANEL)
    .locator('[data-section="Runs & Schedules"]');
  await section.locator('.jp-mlplat-section-toggle').click();
  await section.getByRole('button', { name: 'Schedule…' }).click();
  const picker = page.locator('.jp-Dialog');
  await expect(picker.locator('input')).toHaveValue(daily);
  await picker.locator('.jp-Dialog-button.jp-mod-accept').click();

  const dialog = page.locator('.jp-mlplat-schedule-dialog');
  await expect(dialog.locator('input[name="notebook"]')).toHaveValue(daily);
  await expect(dialog.locator('input[name="timezone"]')).toHaveValue(
    'America/New_York'
  );
  await expect(dialog.locator('input[name="param-n"]')).toHaveAttribute(
    'placeholder',
    '3'
  );
  await dialog.locator('input[name="param-n"]').fill('4');
  await dialog.locator('input[name="cron"]').fill('0 6 * * *');
  const accept = dialog.locator('.jp-Dialog-button.jp-mod-accept');
  await expect(accept).toBeEnabled();
  await accept.click();
  await expect(dialog).toHaveCount(0);

  const row = section.locator(`.jp-mlplat-schedule[data-notebook="${daily}"]`);
  await expect(row).toHaveCount(1);
  const id = (await row.getAttribute('data-schedule'))!;
  let saved = await (await page.request.get(`${API}/schedules/${id}`)).json();
  expect(saved.timezone).toBe('America/New_York');
  expect(saved.parameters).toEqual({ n: 4 });

  // Edit: another notebook (its parameter form follows), resources, when.
  await row.getByRole('button', { name: `Edit schedule ${saved.name}` }).click();
  await expect(dialog.locator('input[name="param-n"]')).toHaveValue('4');
  await dialog.locator('input[name="notebook"]').fill(weekly);
  await expect(dialog.locator('input[name="param-label"]')).toBeVisible();
  await expect(dialog.locator('input[name="param-lr"]')).toHaveCount(0);
  await dialog.locator('input[name="param-n"]').fill('7');
  await dialog.locator('input[name="param-label"]').fill('edited');
  await dialog.locator('input[name="notebook"]').scrollIntoViewIfNeeded();
  await page.screenshot({ path: 'screenshots/schedule-edit-parameters.png' });
  await dialog.locator('input[name="cpu"]').fill('500m');
  await dialog.locator('input[name="memory"]').fill('1Gi');
  await dialog.locator('input[name="timeout"]').fill('900');
  await dialog.locator('input[name="cron"]').fill('30 7 * * 1');
  await dialog.locator('input[name="timezone"]').fill('Asia/Tokyo');
  await dialog
    .locator('select[name="concurrency_policy"]')
    .selectOption('allow');
  await dialog.locator('select[name="misfire_policy"]').selectOption('skip');
  await expect(dialog.locator('.jp-mlplat-preview-times li')).toHaveCount(5);
  // A bad value is refused as you type.
  await dialog.locator('input[name="gpu"]').fill('two');
  await expect(accept).toBeDisabled();
  await dialog.locator('input[name="gpu"]').fill('');
  await expect(accept).toBeEnabled();
  await page.screenshot({ path: 'screenshots/schedule-edit.png' });
  await accept.click();
  await expect(dialog).toHaveCount(0);

  saved = await (await page.request.get(`${API}/schedules/${id}`)).json();
  expect(saved.notebook).toBe(weekly);
  expect(saved.parameters).toEqual({ n: 7, label: 'edited' });
  expect(saved.resources).toEqual({ cpu: '500m', memory: '1Gi', gpu: 0 });
  expect(saved.timeout).toBe(900);
  expect([saved.cron, saved.timezone]).toEqual(['30 7 * * 1', 'Asia/Tokyo']);
  expect([saved.concurrency_policy, saved.misfire_policy]).toEqual([
    'allow',
    'skip'
  ]);
  const edited = section.locator(`.jp-mlplat-schedule[data-schedule="${id}"]`);
  await expect(edited).toHaveAttribute('data-notebook', weekly);
  await expect(edited).toContainText('30 7 * * 1');
  // Nothing of the row is cut off at the sidebar's narrowest width.
  await page.evaluate(() => {
    const panel = document.getElementById('jp-mlplat-panel')!;
    panel.parentElement!.style.width = '250px';
  });
  for (const name of ['Pause', 'Edit schedule', 'Delete']) {
    const button = edited.getByRole('button', { name }).first();
    const box = (await button.boundingBox())!;
    const panelBox = (await page.locator(PANEL).boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(panelBox.x + panelBox.width);
  }
  await edited.scrollIntoViewIfNeeded();
  await page.screenshot({ path: 'screenshots/schedule-edited.png' });

  // Delete it (its runs would stay unless asked).
  await edited.getByRole('button', { name: 'Delete' }).click();
  const confirm = page.locator('.jp-Dialog');
  await expect(confirm).toContainText(saved.name);
  await confirm.locator('.jp-Dialog-button.jp-mod-warn').click();
  await expect(edited).toHaveCount(0);
  expect((await page.request.get(`${API}/schedules/${id}`)).status()).toBe(404);
});
