import { expect, test } from '@jupyterlab/galata';

import { notebook } from './notebooks';

const PANEL = '#jp-mlplat-panel';
const API = '/jupyter-mlplat/api';
const FINAL = ['succeeded', 'failed', 'cancelled'];

test.use({ autoGoto: true });

test('the job list tells jobs apart, searches, filters across reloads and deletes', async ({
  page,
  tmpPath
}) => {
  await page.contents.uploadContent(
    notebook('n = 3\nlr = 0.5', 'print(f"n is {n}")'),
    'text',
    `${tmpPath}/train.ipynb`
  );
  await page.contents.uploadContent(
    notebook('lr = 0.5', 'if lr < 0:\n    raise ValueError("lr must be positive")'),
    'text',
    `${tmpPath}/check.ipynb`
  );
  const submit = async (body: object, path = 'jobs') => {
    const response = await page.request.post(`${API}/${path}`, { data: body });
    expect(response.status()).toBe(201);
    return (await response.json()) as { id: string };
  };
  const plain = await submit({ notebook: `${tmpPath}/train.ipynb` });
  const tuned = await submit({
    notebook: `${tmpPath}/train.ipynb`,
    parameters: { n: 8, lr: 0.5 }
  });
  const failing = await submit({
    notebook: `${tmpPath}/check.ipynb`,
    parameters: { lr: -1 }
  });
  const final = async (id: string) => {
    let job: any;
    await expect
      .poll(
        async () => {
          job = await (await page.request.get(`${API}/jobs/${id}`)).json();
          return FINAL.includes(job.state);
        },
        { timeout: 180 * 1000 }
      )
      .toBe(true);
    return job;
  };
  const first = await final(plain.id);
  expect(first.state, first.error).toBe('succeeded');
  const rerun = await submit({ parameters: { n: 4 } }, `jobs/${plain.id}/rerun`);
  for (const job of [tuned, failing, rerun]) {
    await final(job.id);
  }
  const ours = [plain.id, tuned.id, failing.id, rerun.id];

  await page.sidebar.openTab('jp-mlplat-panel');
  const panel = page.locator(PANEL);
  const search = panel.getByRole('searchbox', { name: 'Search jobs' });
  await search.fill(tmpPath);
  const rows = panel.locator('.jp-mlplat-job');
  await expect(rows).toHaveCount(4);
  const row = (id: string) => panel.locator(`.jp-mlplat-job[data-job-id="${id}"]`);

  // Two runs of one notebook: same name, different short ids.
  const idOf = async (id: string) =>
    (await row(id).locator('.jp-mlplat-job-id').textContent())!;
  const shortIds = await Promise.all(ours.map(idOf));
  expect(new Set(shortIds).size).toBe(4);
  expect(shortIds[0]).toBe(plain.id.slice(0, 7));
  // Only the parameters that differ from the notebook's defaults.
  await expect(row(plain.id).locator('.jp-mlplat-job-params')).toHaveCount(0);
  await expect(row(tuned.id).locator('.jp-mlplat-job-params')).toHaveText('n=8');
  await expect(row(rerun.id).locator('.jp-mlplat-job-params')).toHaveText('n=4');
  // The failure reason in the row; the trigger chip on the rerun.
  await expect(row(failing.id)).toHaveAttribute('data-state', 'failed');
  await expect(row(failing.id).locator('.jp-mlplat-job-error')).toContainText(
    'lr must be positive'
  );
  await expect(row(rerun.id)).toHaveAttribute('data-trigger', 'rerun');
  await expect(row(plain.id)).toHaveAttribute('data-trigger', 'manual');
  // Relative start time, exact on hover.
  const start = row(plain.id).locator('.jp-mlplat-job-start');
  await expect(start).toHaveText(/(just now|\d+[smh] ago)/);
  await expect(start).toHaveAttribute('title', /20\d\d/);

  // Open both jobs of train.ipynb: their tabs differ by the short id.
  await row(plain.id).click();
  await row(tuned.id).click();
  const tabs = page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab', {
    hasText: 'train ·'
  });
  await expect(tabs).toHaveCount(2);
  const labels = await tabs.locator('.lm-TabBar-tabLabel').allTextContents();
  expect(labels.sort()).toEqual(
    [`train · ${shortIds[0]}`, `train · ${shortIds[1]}`].sort()
  );
  await page.screenshot({ path: 'screenshots/job-list.png' });

  // Search narrows; filters survive a reload.
  await search.fill(`${tmpPath} n=8`);
  await expect(rows).toHaveCount(1);
  await search.fill(tmpPath);
  await panel.getByLabel('Filter by state').selectOption('failed');
  await expect(rows).toHaveCount(1);
  // The restored layout has the job tabs, and no Launcher need be active: wait for the
  // application itself, not for Galata's default "Launcher is active" readiness.
  await page.reload({ waitForIsReady: false });
  await page.waitForSelector('#jupyterlab-splash', { state: 'detached' });
  await page.sidebar.openTab('jp-mlplat-panel');
  await expect(search).toHaveValue(tmpPath);
  await expect(panel.getByLabel('Filter by state')).toHaveValue('failed');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toHaveAttribute('data-job-id', failing.id);
  await panel.getByLabel('Filter by state').selectOption('');
  await panel.getByLabel('Filter by trigger').selectOption('rerun');
  await expect(rows).toHaveCount(1);
  await panel.getByLabel('Filter by trigger').selectOption('');
  await expect(rows).toHaveCount(4);

  // Delete a job with its outputs, after a confirmation (both jobs open).
  await row(tuned.id).click();
  await row(plain.id).click();
  await expect(tabs).toHaveCount(2);
  const tunedJob = await (await page.request.get(`${API}/jobs/${tuned.id}`)).json();
  const folder: string = tunedJob.outputs.folder;
  expect((await page.request.get(`/api/contents/${folder}?content=0`)).status()).toBe(200);
  await row(tuned.id).hover();
  await row(tuned.id).getByRole('button', { name: `Delete job ${tuned.id}` }).click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog).toContainText(shortIds[1]);
  await dialog.getByRole('checkbox').check();
  await page.screenshot({ path: 'screenshots/job-delete-confirm.png' });
  await dialog.locator('.jp-Dialog-button.jp-mod-warn').click();
  await expect(rows).toHaveCount(3);
  expect((await page.request.get(`${API}/jobs/${tuned.id}`)).status()).toBe(404);
  expect((await page.request.get(`/api/contents/${folder}?content=0`)).status()).toBe(404);
  // Its open tab closed with it; the other job's tab stays.
  await expect(tabs).toHaveCount(1);

  // Cancelling the dialog deletes nothing.
  await row(plain.id).hover();
  await row(plain.id).getByRole('button', { name: `Delete job ${plain.id}` }).click();
  await dialog.locator('.jp-Dialog-button.jp-mod-reject').click();
  await expect(rows).toHaveCount(3);
  expect((await page.request.get(`${API}/jobs/${plain.id}`)).status()).toBe(200);
  await search.fill('');
});
