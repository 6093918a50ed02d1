import { expect, test } from '@jupyterlab/galata';

import { notebook } from './notebooks';

const API = '/jupyter-mlplat/api';

test.use({ autoGoto: true });

test('compare two runs: the values used (defaults marked) and their metrics', async ({
  page,
  tmpPath
}) => {
  const file = `fit-${Date.now().toString(36)}.ipynb`;
  const nb = `${tmpPath}/${file}`;
  await page.contents.uploadContent(
    notebook("n = 3\nlr = 0.5\nmsg = 'hi'", [
            'import json, os\n',
            "out = os.environ['MLPLAT_OUTPUT_DIR']\n",
            "json.dump({'auc': 0.5 + n / 100, 'loss': lr}, open(os.path.join(out, 'metrics.json'), 'w'))"
          ]),
    'text',
    nb
  );
  const ids: string[] = [];
  for (const parameters of [{}, { n: 9, lr: 0.1 }]) {
    const response = await page.request.post(`${API}/runs`, {
      data: { notebook: nb, parameters }
    });
    expect(response.status()).toBe(201);
    ids.push((await response.json()).id);
  }
  for (const id of ids) {
    await expect
      .poll(
        async () => (await (await page.request.get(`${API}/runs/${id}`)).json()).state,
        { timeout: 180_000 }
      )
      .toBe('succeeded');
  }

  await page.sidebar.openTab('jp-mlplat-panel');
  const section = page
    .locator('#jp-mlplat-panel')
    .locator('[data-section="Runs & Schedules"]');
  await section.locator('.jp-mlplat-section-toggle').click();
  for (const id of ids) {
    await section.locator(`.jp-mlplat-run[data-run="${id}"] input[type="checkbox"]`).check();
  }
  await section.getByRole('button', { name: 'Compare' }).click();
  const diff = section.locator('.jp-mlplat-diff');
  // Values used: given ones and the notebook's defaults, side by side.
  const cells = (name: string) =>
    diff.locator(`tr[data-name="${name}"] td code`).allTextContents();
  await expect(diff.locator('tr[data-name="n"]')).toBeVisible();
  // The columns are the runs named in the header's titles, in that order.
  const columns = await diff.locator('thead th[title]').evaluateAll(ths =>
    ths.map(th => th.getAttribute('title'))
  );
  expect([...columns].sort()).toEqual([...ids].sort());
  const order = <T,>(first: T, second: T): T[] =>
    columns[0] === ids[0] ? [first, second] : [second, first];
  expect(await cells('n')).toEqual(order('3', '9'));
  expect(await cells('lr')).toEqual(order('0.5', '0.1'));
  expect(await cells('msg')).toEqual(['hi', 'hi']);
  await expect(diff.locator('tr[data-name="msg"] .jp-mlplat-default')).toHaveCount(2);
  await expect(diff.locator('tr[data-name="n"] .jp-mlplat-default')).toHaveCount(1);
  // Metrics each job wrote to metrics.json in its MLPLAT_OUTPUT_DIR.
  expect(
    await diff.locator('tr[data-metric="auc"] td').allTextContents()
  ).toEqual(['auc', ...order('0.53', '0.59')]);
  expect(
    await diff.locator('tr[data-metric="loss"] td').allTextContents()
  ).toEqual(['loss', ...order('0.5', '0.1')]);
  await diff.scrollIntoViewIfNeeded();
  await page.screenshot({ path: 'screenshots/runs-compare.png' });

  // Delete a finished run (and its job) after a confirmation.
  const row = section.locator(`.jp-mlplat-run[data-run="${ids[0]}"]`);
  await row.getByRole('button', { name: `Delete run ${ids[0]}` }).click();
  const confirm = page.locator('.jp-Dialog');
  await confirm.getByRole('checkbox').check();
  await confirm.locator('.jp-Dialog-button.jp-mod-warn').click();
  await expect(row).toHaveCount(0);
  expect((await page.request.get(`${API}/runs/${ids[0]}`)).status()).toBe(404);
});
