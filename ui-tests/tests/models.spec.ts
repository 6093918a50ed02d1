import { expect, test } from '@jupyterlab/galata';

/** A notebook writing TensorBoard scalars to the job's log dir. */
const NOTEBOOK = {
  cells: [
    {
      cell_type: 'code',
      execution_count: null,
      metadata: {},
      outputs: [],
      source: [
        'import os\n',
        'from tensorboardX import SummaryWriter\n',
        'writer = SummaryWriter(os.environ["MLPLAT_TENSORBOARD_DIR"])\n',
        'for step in range(20):\n',
        '    writer.add_scalar("loss", 1 / (step + 1), step)\n',
        'writer.close()'
      ]
    }
  ],
  metadata: {
    kernelspec: {
      display_name: 'Python 3',
      language: 'python',
      name: 'python3'
    },
    language_info: { name: 'python' }
  },
  nbformat: 4,
  nbformat_minor: 5
};

const API = '/jupyter-mlplat/api';

test.use({ autoGoto: true });

test('open TensorBoard from a job, publish a model, see it in the Models view', async ({
  page,
  tmpPath
}) => {
  const stamp = Date.now().toString(36);
  const notebook = `${tmpPath}/fit-${stamp}.ipynb`;
  await page.contents.uploadContent(JSON.stringify(NOTEBOOK), 'text', notebook);
  await page.contents.uploadContent(
    'weights',
    'text',
    `${tmpPath}/artifact-${stamp}/weights.txt`
  );
  const submitted = await page.request.post(`${API}/jobs`, {
    data: { notebook }
  });
  expect(submitted.ok()).toBe(true);
  const job = await submitted.json();
  await expect
    .poll(
      async () =>
        (await (await page.request.get(`${API}/jobs/${job.id}`)).json()).state,
      { timeout: 180_000, intervals: [1000] }
    )
    .toBe('succeeded');

  // The job detail's Outputs tab: Open TensorBoard in a tab.
  await page.evaluate(
    id =>
      (window as any).jupyterapp.commands.execute('mlplat:open-job', { id }),
    job.id
  );
  const detail = page.locator('.jp-mlplat-detail').last();
  await detail.getByRole('tab', { name: 'Outputs' }).click();
  await detail.getByRole('button', { name: 'Open TensorBoard' }).click();
  const tab = page.locator('.jp-mlplat-tensorboard-widget');
  await expect(tab).toBeVisible({ timeout: 60_000 });
  const frame = page.frameLocator('.jp-mlplat-tensorboard-widget iframe');
  await expect(frame.locator('body')).toContainText('loss', {
    timeout: 120_000
  });
  await page.waitForTimeout(1500);
  await page.screenshot({ path: 'screenshots/tensorboard.png' });

  // The TensorBoards section lists the instance.
  await page.sidebar.openTab('jp-mlplat-panel');
  const panel = page.locator('#jp-mlplat-panel');
  const tbs = panel.locator('[data-section="TensorBoards"]');
  await tbs.locator('.jp-mlplat-section-toggle').click();
  await expect(
    tbs.locator('.jp-mlplat-tb', { hasText: `Job ${job.id}` })
  ).toBeVisible();

  // Publish model… from the job's outputs.
  await page
    .getByRole('tab', { name: new RegExp(`^fit-${stamp}`) })
    .first()
    .click();
  await detail.getByRole('tab', { name: 'Outputs' }).click();
  await detail.getByRole('button', { name: 'Publish model…' }).click();
  const dialog = page.locator('.jp-mlplat-publish-dialog');
  await dialog
    .locator('input[name="path"]')
    .fill(`${tmpPath}/artifact-${stamp}`);
  await dialog.locator('input[name="name"]').fill(`fit-${stamp}`);
  await dialog.locator('input[name="metrics"]').fill('accuracy=high');
  await expect(dialog.locator('.jp-mlplat-field-error')).toContainText(
    'not a number'
  );
  await dialog
    .locator('input[name="metrics"]')
    .fill('accuracy=0.91, loss=0.05');
  await dialog.getByRole('button', { name: 'Publish' }).click();
  await expect(dialog).toHaveCount(0, { timeout: 30_000 });

  // The Models view: versions with metrics, lineage and stage.
  await page.sidebar.openTab('jp-mlplat-panel');
  const models = panel.locator('[data-section="Models"]');
  await models.locator('.jp-mlplat-section-toggle').click();
  const model = models.locator(`.jp-mlplat-model[data-model="fit-${stamp}"]`);
  await expect(model).toBeVisible({ timeout: 30_000 });
  await model.locator('.jp-mlplat-model-name').click();
  const version = model.locator('tr[data-version="1"]');
  await expect(version).toContainText('accuracy 0.91');
  await expect(version.getByRole('button', { name: 'job' })).toBeVisible();
  await version.locator('select').selectOption('staging');
  await expect
    .poll(
      async () =>
        (
          await (
            await page.request.get(`${API}/models/fit-${stamp}/versions/1`)
          ).json()
        ).stage
    )
    .toBe('staging');
  await panel.screenshot({ path: 'screenshots/models-panel.png' });
  await page.screenshot({ path: 'screenshots/models.png' });
});
