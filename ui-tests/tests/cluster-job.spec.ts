import { expect, test } from '@jupyterlab/galata';

import { notebook } from './notebooks';
import { chartPoints, lossCurve } from './tensorboard-charts';

/**
 * A training notebook for the cluster: `steps` is its parameter; it writes
 * TensorBoard scalars (loss = 1 / (step + 1)) with tensorboardX and copies
 * the event file to its job's TensorBoard dir on HDFS, writes a model folder
 * to its job's output folder, and prints what it computed.
 */
const NOTEBOOK = notebook('steps = 20', [
        'import glob, json, os, tempfile, time\n',
        'import fsspec\n',
        'from tensorboardX import SummaryWriter\n',
        'out = os.environ["MLPLAT_OUTPUT_DIR"]\n',
        'local = tempfile.mkdtemp()\n',
        'writer = SummaryWriter(local)\n',
        'for step in range(steps):\n',
        '    writer.add_scalar("loss", 1 / (step + 1), step)\n',
        'writer.close()\n',
        'fs, tb = fsspec.core.url_to_fs(os.environ["MLPLAT_TENSORBOARD_DIR"])\n',
        'fs.makedirs(tb, exist_ok=True)\n',
        'for event in glob.glob(local + "/events.*"):\n',
        '    fs.put_file(event, tb + "/" + os.path.basename(event))\n',
        'time.sleep(3)'
      ], [
        'weights = [0.5 ** k for k in range(steps)]\n',
        'with fsspec.open(out + "/model/weights.json", "w") as f:\n',
        '    json.dump(weights, f)\n',
        'print(f"trained {steps} steps: final loss {1 / steps:.4f}, "\n',
        '      f"weight sum {sum(weights):.6f}")'
      ]);

const API = '/jupyter-mlplat/api';
const PANEL = '#jp-mlplat-panel';
const TARGET = 'kube-node';
const STEPS = 12;

test.use({ autoGoto: true });

test('a cluster job from the UI: running → succeeded, its output notebook, TensorBoard and model from HDFS', async ({
  page,
  tmpPath
}) => {
  const stamp = Date.now().toString(36);
  const file = `train-${stamp}.ipynb`;
  await page.contents.uploadContent(
    NOTEBOOK,
    'text',
    `${tmpPath}/${file}`
  );

  // Submit as Job… to the cluster target, with steps = 12.
  await page.filebrowser.openDirectory(tmpPath);
  await page
    .locator('.jp-DirListing-item[data-file-type="notebook"]', { hasText: file })
    .click({ button: 'right' });
  await page.getByRole('menuitem', { name: 'Submit as Job…' }).click();
  const dialog = page.locator('.jp-mlplat-submit-dialog');
  await dialog.locator('select[name="target"]').selectOption(TARGET);
  // A cluster target offers the job kind.
  await expect(dialog.locator('select[name="kind"]')).toBeVisible();
  await dialog.locator('input[name="param-steps"]').fill(String(STEPS));
  const submit = dialog.locator('.jp-Dialog-button.jp-mod-accept');
  await expect(submit).toBeEnabled();
  await submit.click();
  await expect(dialog).toHaveCount(0, { timeout: 60_000 });

  // The panel follows it: running, then succeeded.
  await page.sidebar.openTab('jp-mlplat-panel');
  const panel = page.locator(PANEL);
  const row = panel
    .locator('.jp-mlplat-job', { hasText: `train-${stamp}` })
    .first();
  await expect(row).toBeVisible({ timeout: 30_000 });
  await expect(row).toHaveAttribute('data-state', 'running', {
    timeout: 180_000
  });
  await panel.screenshot({ path: 'screenshots/cluster-job-running.png' });
  await expect(row).toHaveAttribute('data-state', 'succeeded', {
    timeout: 180_000
  });
  await panel.screenshot({ path: 'screenshots/cluster-job-succeeded.png' });

  // The job detail: its outputs are on prod-b.
  await row.click();
  const detail = page.locator('.jp-mlplat-detail').last();
  await expect(detail.locator('.jp-mlplat-detail-title')).toContainText(
    'succeeded'
  );
  await detail.getByRole('tab', { name: 'Outputs' }).click();
  const page1 = await (await page.request.get(`${API}/jobs?limit=50`)).json();
  const job = page1.jobs.find(
    (j: any) => j.spec.notebook === `${tmpPath}/${file}`
  );
  expect(job.spec.target).toBe(TARGET);
  expect(job.spec.parameters).toEqual({ steps: STEPS });
  const folder = `hdfs://prod-b/user/alice/mlplat-jobs/${job.id}`;
  expect(job.outputs.folder).toBe(folder);
  expect(job.outputs.notebook).toBe(`${folder}/${file}`);
  expect(job.outputs.tensorboard).toBe(`${folder}/tensorboard`);
  const facts = detail.locator('.jp-mlplat-outputs .jp-mlplat-facts');
  await expect(facts).toContainText(`${folder}/${file}`);
  await expect(facts).toContainText(`${folder}/job.log`);
  await page.screenshot({ path: 'screenshots/cluster-job-outputs.png' });

  // Open output notebook: read from prod-b, read-only, the computed values
  // in its cells' outputs.
  await detail.getByRole('button', { name: 'Open output notebook' }).click();
  const output = page.locator('.jp-NotebookPanel.jp-mlplat-output-notebook');
  await expect(output).toContainText(
    `trained ${STEPS} steps: final loss 0.0833, weight sum 1.999512`,
    { timeout: 60_000 }
  );
  await expect(output.locator('.jp-Toolbar')).toContainText('read-only');
  await expect(
    output.locator('.jp-Cell .cm-content').first()
  ).toHaveAttribute('aria-readonly', 'true');
  // The storage API says it is not writable and refuses to save over it.
  const onProdB = `${API}/storage/prod-b/contents/user/alice/mlplat-jobs/${job.id}/${file}`;
  const stored = await (await page.request.get(onProdB)).json();
  expect(stored.writable).toBe(false);
  const overwrite = await page.request.put(onProdB, {
    data: { type: 'notebook', format: 'json', content: stored.content }
  });
  expect(overwrite.status()).toBe(403);
  expect((await overwrite.json()).message).toContain(`job ${job.id}`);
  // The injected parameters cell holds the value submitted from the dialog.
  await expect(output).toContainText(`steps = ${STEPS}`);
  await page.screenshot({ path: 'screenshots/cluster-job-output-notebook.png' });

  // Open TensorBoard on the job's HDFS log dir: the drawn curve is the one
  // the pod wrote (steps 0-11, 1 / (step + 1)).
  await page
    .getByRole('tab', { name: new RegExp(`^train-${stamp} · `) })
    .first()
    .click();
  await detail.getByRole('tab', { name: 'Outputs' }).click();
  const points = await chartPoints(page, () =>
    detail.getByRole('button', { name: 'Open TensorBoard' }).click()
  );
  expect(points.map(p => p.step)).toEqual([...Array(STEPS).keys()]);
  expect(points.map(p => Number(p.value.toFixed(4)))).toEqual(
    lossCurve(STEPS)
  );
  await page.screenshot({ path: 'screenshots/cluster-job-tensorboard.png' });

  // Publish model… from the job's own folder on prod-b: version 1, with the
  // job as its lineage.
  await page
    .getByRole('tab', { name: new RegExp(`^train-${stamp} · `) })
    .first()
    .click();
  await detail.getByRole('tab', { name: 'Outputs' }).click();
  await detail.getByRole('button', { name: 'Publish model…' }).click();
  const publish = page.locator('.jp-mlplat-publish-dialog');
  await expect(publish.locator('input[name="path"]')).toHaveValue(folder);
  await publish.locator('input[name="path"]').fill(`${folder}/model`);
  const name = `cluster-${stamp}`;
  await publish.locator('input[name="name"]').fill(name);
  await publish.locator('input[name="metrics"]').fill('loss=0.0833');
  await publish.getByRole('button', { name: 'Publish' }).click();
  await expect(publish).toHaveCount(0, { timeout: 60_000 });

  await page.sidebar.openTab('jp-mlplat-panel');
  const models = panel.locator('[data-section="Models"]');
  const toggle = models.locator('.jp-mlplat-section-toggle');
  if ((await toggle.getAttribute('aria-expanded')) !== 'true') {
    await toggle.click();
  }
  const model = models.locator(`.jp-mlplat-model[data-model="${name}"]`);
  await expect(model).toBeVisible({ timeout: 30_000 });
  await model.locator('.jp-mlplat-model-name').click();
  const v1 = model.locator('[data-version="1"]');
  await expect(v1).toContainText('loss 0.0833');
  const lineage = v1.getByRole('button', { name: 'job' });
  await expect(lineage).toHaveAttribute('title', new RegExp(`^Job ${job.id}`));
  const version = await (
    await page.request.get(`${API}/models/${name}/versions/1`)
  ).json();
  expect(version.lineage.job_id).toBe(job.id);
  expect(version.lineage.source).toBe(`${folder}/model`);
  expect(Object.keys(version.manifest)).toContain('weights.json');
  await model.scrollIntoViewIfNeeded();
  await page.screenshot({ path: 'screenshots/cluster-job-model.png' });
});
