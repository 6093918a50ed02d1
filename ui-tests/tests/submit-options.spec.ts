import { expect, test } from '@jupyterlab/galata';

import { notebook } from './notebooks';

const API = '/jupyter-mlplat/api';

test.use({ autoGoto: true });

test('the submit dialog offers what the CLI offers: output folder, time limit, files', async ({
  page,
  tmpPath
}) => {
  const file = `opts-${Date.now().toString(36)}.ipynb`;
  await page.contents.uploadContent(
    notebook('n = 3', "print(open('data/a.csv').read())"),
    'text',
    `${tmpPath}/${file}`
  );
  await page.contents.uploadContent('x,1', 'text', `${tmpPath}/data/a.csv`);
  await page.filebrowser.openDirectory(tmpPath);
  await page
    .locator('.jp-DirListing-item[data-file-type="notebook"]', { hasText: file })
    .click({ button: 'right' });
  await page.getByRole('menuitem', { name: 'Submit as Job…' }).click();
  const dialog = page.locator('.jp-mlplat-submit-dialog');
  await expect(dialog.locator('input[name="param-n"]')).toBeVisible();
  // Kind and workers are for Kubernetes targets only.
  await expect(dialog.locator('select[name="kind"]')).toHaveCount(0);
  const submit = dialog.locator('.jp-Dialog-button.jp-mod-accept');
  await dialog.locator('input[name="timeout"]').fill('1.5');
  await expect(submit).toBeDisabled();
  await dialog.locator('input[name="timeout"]').fill('600');
  await dialog.locator('input[name="output"]').fill(`${tmpPath}/custom-out`);
  await dialog.locator('textarea[name="files"]').fill('data/*.csv');
  await expect(submit).toBeEnabled();
  await page.screenshot({ path: 'screenshots/submit-options.png' });
  await submit.click();
  await expect(dialog).toHaveCount(0);

  const page1 = await (await page.request.get(`${API}/jobs?limit=20`)).json();
  const job = page1.jobs.find((j: any) => j.spec.notebook === `${tmpPath}/${file}`);
  expect(job.spec.timeout).toBe(600);
  expect(job.spec.files).toEqual(['data/*.csv']);
  expect(job.spec.output).toBe(`${tmpPath}/custom-out`);
  expect(job.outputs.folder.startsWith(`${tmpPath}/custom-out/`)).toBe(true);
  await expect
    .poll(
      async () =>
        (await (await page.request.get(`${API}/jobs/${job.id}`)).json()).state,
      { timeout: 180_000 }
    )
    .toBe('succeeded');
});
