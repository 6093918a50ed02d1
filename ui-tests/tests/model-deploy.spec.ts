import { expect, test } from '@jupyterlab/galata';

/**
 * Deploy… of a published model version to the cluster target, from the
 * Models section: the serving replica runs on the sandbox's real node
 * (kubelet + containerd) with the sandbox's serving image `serving/folder:1`
 * (the runtime image serving the model's folder with TF Serving's status
 * API; no TF Serving image can be pulled here), and the section shows its
 * state until it is ready.
 */

const API = '/jupyter-mlplat/api';
const PANEL = '#jp-mlplat-panel';
const TARGET = 'kube-node';
/** TF Serving's REST port, the serving replica's (the target's pods use the host network). */
const REST = 'http://127.0.0.1:8501';
/**
 * One model name for every run: its replica holds the node's port 8501 (host
 * network), so a second model's replica could not be scheduled on a server
 * that is reused; a rerun publishes the next version and redeploys in place.
 */
const NAME = 'served';

test.use({ autoGoto: true });

test('deploy a model version to the cluster from the Models section and see it ready', async ({
  page,
  tmpPath
}) => {
  const stamp = Date.now().toString(36);
  const name = NAME;
  const folder = `${tmpPath}/export-${stamp}`;
  await page.contents.uploadContent('w1', 'text', `${folder}/weights.txt`);
  const published = await page.request.post(`${API}/models`, {
    data: { path: folder, name, metrics: { auc: 0.91 } }
  });
  expect(published.status()).toBe(201);
  const v = (await published.json()).version as number;
  const config = await (await page.request.get(`${API}/config`)).json();
  const image = `${config.registry.pull}/serving/folder:1`;

  await page.sidebar.openTab('jp-mlplat-panel');
  const models = page.locator(PANEL).locator('[data-section="Models"]');
  const toggle = models.locator('.jp-mlplat-section-toggle');
  if ((await toggle.getAttribute('aria-expanded')) !== 'true') {
    await toggle.click();
  }
  const model = models.locator(`.jp-mlplat-model[data-model="${name}"]`);
  await expect(model).toBeVisible({ timeout: 30_000 });
  await model.locator('.jp-mlplat-model-name').click();
  const row = model.locator(`[data-version="${v}"]`);
  await expect(row).toContainText('auc 0.91');

  // Deploy…: the cluster target, the serving image, 1 replica, resources.
  await row.getByRole('button', { name: `Deploy version ${v}` }).click();
  const deploy = page.locator('.jp-mlplat-deploy-dialog');
  await expect(deploy.locator('select[name="target"]')).toHaveValue(TARGET);
  await deploy.locator('input[name="image"]').fill(image);
  // Not one of the listed TF Serving images: the kind says "Custom image".
  await expect(deploy.locator('select[name="serving"]')).toHaveValue('');
  await deploy.locator('input[name="replicas"]').fill('1');
  await deploy.locator('input[name="cpu"]').fill('100m');
  await deploy.locator('input[name="memory"]').fill('128Mi');
  await page.screenshot({ path: 'screenshots/model-deploy-cluster.png' });
  await deploy.locator('.jp-Dialog-button.jp-mod-accept').click();
  await expect(deploy).toHaveCount(0, { timeout: 60_000 });

  // The section shows the deployment, then its replica ready.
  const serving = model.locator('p.jp-mlplat-serving');
  await expect(serving).toContainText(`Serving v${v} on ${TARGET}/ml-alice`, {
    timeout: 30_000
  });
  await expect(serving).toHaveAttribute('data-ready', '1', {
    timeout: 180_000
  });
  await expect(serving).toHaveText(
    `Serving v${v} on ${TARGET}/ml-alice · 1 ready`
  );
  await expect(row.locator('.jp-mlplat-version-number')).toHaveText(`v${v} ●`);
  const state = await (
    await page.request.get(`${API}/models/${name}/deployment`)
  ).json();
  expect(state).toMatchObject({
    target: TARGET,
    namespace: 'ml-alice',
    deployed_version: v,
    serving_version: v,
    ready_replicas: 1,
    image
  });
  await model.scrollIntoViewIfNeeded();
  await page.screenshot({ path: 'screenshots/model-deployed.png' });

  // The replica itself answers TF Serving's status API: version 1 AVAILABLE.
  const status = async () =>
    (await (await page.request.get(`${REST}/v1/models/${name}`)).json())
      .model_version_status;
  expect(await status()).toEqual([
    {
      version: String(v),
      state: 'AVAILABLE',
      status: { error_code: 'OK', error_message: '' }
    }
  ]);
  const files = await (
    await page.request.get(`${REST}/v1/models/${name}/versions/${v}/files/weights.txt`)
  ).text();
  expect(files).toBe('w1');

  // A new version is served without a redeploy: the section says v2.
  await page.contents.uploadContent('w2', 'text', `${folder}/weights.txt`);
  const second = await page.request.post(`${API}/models`, {
    data: { path: folder, name, metrics: { auc: 0.93 } }
  });
  expect(second.status()).toBe(201);
  await expect
    .poll(async () => (await status())[0].version, { timeout: 60_000 })
    .toBe(String(v + 1));
  await expect(serving).toContainText(`Serving v${v + 1} on ${TARGET}/ml-alice`, {
    timeout: 60_000
  });
  await expect(serving).toHaveAttribute('data-ready', '1');
  await model.scrollIntoViewIfNeeded();
  await page.screenshot({ path: 'screenshots/model-deployed-v2.png' });
});
