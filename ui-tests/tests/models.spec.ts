import { expect, test } from '@jupyterlab/galata';

import { notebook } from './notebooks';
import { chartPoints, lossCurve, type Point } from './tensorboard-charts';

/**
 * A notebook writing TensorBoard scalars (loss = 1 / (step + 1), steps 0-19)
 * to the job's log dir, to a local folder beside it, and to an HDFS folder
 * (prod-b:/tb/<job folder name>/exp, copied from the local one).
 */
const NOTEBOOK = notebook(null, [
        'import os, glob\n',
        'import jupyter_mlplat\n',
        'from tensorboardX import SummaryWriter\n',
        'for logdir in (os.environ["MLPLAT_TENSORBOARD_DIR"], "tb-local/exp"):\n',
        '    writer = SummaryWriter(logdir)\n',
        '    for step in range(20):\n',
        '        writer.add_scalar("loss", 1 / (step + 1), step)\n',
        '    writer.close()\n',
        'fs = jupyter_mlplat.fs("prod-b")\n',
        'remote = "/tb/" + os.path.basename(os.environ["MLPLAT_OUTPUT_DIR"]) + "/exp"\n',
        'fs.makedirs(remote, exist_ok=True)\n',
        'for event in glob.glob("tb-local/exp/events.*"):\n',
        '    fs.put_file(event, remote + "/" + os.path.basename(event))\n',
        'print("hdfs logdir", "hdfs://prod-b" + remote.rsplit("/", 1)[0])'
      ]);

/** The values written above, as TensorBoard stores them (float32). */
const WRITTEN = lossCurve(20);

function expectWritten(points: Point[]): void {
  expect(points.map(p => p.step)).toEqual([...Array(20).keys()]);
  expect(points.map(p => Number(p.value.toFixed(4)))).toEqual(WRITTEN);
}

const API = '/jupyter-mlplat/api';

test.use({ autoGoto: true });

test('open TensorBoard from a job, publish a model, see it in the Models view', async ({
  page,
  tmpPath
}) => {
  const stamp = Date.now().toString(36);
  const notebook = `${tmpPath}/fit-${stamp}.ipynb`;
  await page.contents.uploadContent(NOTEBOOK, 'text', notebook);
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
  // The job's own folder, and the snippet that uses it.
  expect(job.outputs.folder).toBe(
    `${tmpPath}/mlplat-outputs/fit-${stamp}-${job.id}`
  );
  await expect(
    detail.locator('.jp-mlplat-outputs .jp-mlplat-facts')
  ).toContainText(job.outputs.folder);
  await expect(detail.locator('.jp-mlplat-snippet')).toContainText(
    'MLPLAT_OUTPUT_DIR'
  );
  await page.screenshot({ path: 'screenshots/job-outputs.png' });

  // A job's folder: TensorBoard's own chart requests pass the proxy and draw.
  expectWritten(
    await chartPoints(page, () =>
      detail.getByRole('button', { name: 'Open TensorBoard' }).click()
    )
  );
  await page.screenshot({ path: 'screenshots/tensorboard.png' });

  // A local folder beside the notebook, and the HDFS copy of it.
  const openLogdir = (logdir: string) => () =>
    page.evaluate(
      dir =>
        (window as any).jupyterapp.commands.execute('mlplat:open-tensorboard', {
          logdir: dir
        }),
      logdir
    );
  expectWritten(await chartPoints(page, openLogdir(`${tmpPath}/tb-local`)));
  await page.screenshot({ path: 'screenshots/tensorboard-local.png' });
  const hdfs = `hdfs://prod-b/tb/fit-${stamp}-${job.id}`;
  expectWritten(await chartPoints(page, openLogdir(hdfs)));
  await page.screenshot({ path: 'screenshots/tensorboard-hdfs.png' });

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
  const version = model.locator('[data-version="1"]');
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
