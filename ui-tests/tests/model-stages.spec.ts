import { expect, test } from '@jupyterlab/galata';

const PANEL = '#jp-mlplat-panel';
const API = '/jupyter-mlplat/api';

test.use({ autoGoto: true });

test('publish a folder from the file browser, change stages with a confirmation, deploy', async ({
  page,
  tmpPath
}) => {
  const stamp = Date.now().toString(36);
  const name = `churn-${stamp}`;
  const folder = `${tmpPath}/model-${stamp}`;
  await page.contents.uploadContent('w1', 'text', `${folder}/weights.txt`);

  // "Publish as Model…" on a folder in the file browser's context menu.
  await page.filebrowser.openDirectory(tmpPath);
  await page
    .locator('.jp-DirListing-item[data-isdir="true"]', {
      hasText: `model-${stamp}`
    })
    .click({ button: 'right' });
  await page.getByRole('menuitem', { name: 'Publish as Model…' }).click();
  const publish = page.locator('.jp-mlplat-publish-dialog');
  await expect(publish.locator('input[name="path"]')).toHaveValue(folder);
  await publish.locator('input[name="name"]').fill(name);
  await publish.locator('input[name="metrics"]').fill('auc=0.91');
  await publish.getByRole('button', { name: 'Publish' }).click();
  await expect(publish).toHaveCount(0, { timeout: 30_000 });

  // A second version through the API, in production.
  await page.contents.uploadContent('w2', 'text', `${folder}/weights.txt`);
  const second = await page.request.post(`${API}/models`, {
    data: { path: folder, name, metrics: { auc: 0.93 } }
  });
  expect(second.status()).toBe(201);
  expect(
    (
      await page.request.post(`${API}/models/${name}/versions/2/stage`, {
        data: { stage: 'production' }
      })
    ).status()
  ).toBe(200);

  await page.sidebar.openTab('jp-mlplat-panel');
  const models = page.locator(PANEL).locator('[data-section="Models"]');
  await models.locator('.jp-mlplat-section-toggle').click();
  const model = models.locator(`.jp-mlplat-model[data-model="${name}"]`);
  await expect(model).toBeVisible({ timeout: 30_000 });
  await model.locator('.jp-mlplat-model-name').click();
  const v1 = model.locator('[data-version="1"]');
  const v2 = model.locator('[data-version="2"]');
  await expect(v2).toHaveAttribute('data-stage', 'production');
  await expect(v1).toContainText('auc 0.91');

  // Promoting v1 says that v2 gets archived, and asks.
  const stage = (version: number) =>
    page.request
      .get(`${API}/models/${name}/versions/${version}`)
      .then(r => r.json())
      .then(v => v.stage);
  await v1.locator('select').selectOption('production');
  const confirm = page.locator('.jp-Dialog');
  await expect(confirm).toContainText('v2 leaves production and is archived');
  await page.screenshot({ path: 'screenshots/model-stage-confirm.png' });
  await confirm.locator('.jp-Dialog-button.jp-mod-reject').click();
  await expect(v1).toHaveAttribute('data-stage', 'none');
  expect([await stage(1), await stage(2)]).toEqual(['none', 'production']);

  await v1.locator('select').selectOption('production');
  await confirm.locator('.jp-Dialog-button.jp-mod-warn').click();
  await expect(v1).toHaveAttribute('data-stage', 'production');
  await expect(v2).toHaveAttribute('data-stage', 'archived');
  expect([await stage(1), await stage(2)]).toEqual(['production', 'archived']);
  await expect(model.locator('.jp-mlplat-job-meta').first()).toContainText(
    'production v1'
  );

  // Nothing of a version is cut off at the sidebar's narrowest width.
  await page.evaluate(() => {
    const panel = document.getElementById('jp-mlplat-panel')!;
    panel.parentElement!.style.width = '250px';
  });
  const panelBox = (await page.locator(PANEL).boundingBox())!;
  for (const version of [v1, v2]) {
    for (const part of [
      version.locator('select'),
      version.getByRole('button', { name: /^Deploy version/ })
    ]) {
      const box = (await part.boundingBox())!;
      expect(box.x + box.width).toBeLessThanOrEqual(
        panelBox.x + panelBox.width
      );
    }
  }
  await page.screenshot({ path: 'screenshots/models-narrow.png' });

  // Deploy… from a version: target, serving kind, replicas, resources.
  await v1.getByRole('button', { name: 'Deploy version 1' }).click();
  const deploy = page.locator('.jp-mlplat-deploy-dialog');
  await expect(deploy.locator('select[name="serving"]')).toBeVisible();
  await deploy.locator('input[name="cpu"]').fill('lots');
  await expect(deploy.locator('.jp-mlplat-field-error').first()).toBeVisible();
  await deploy.locator('input[name="cpu"]').fill('500m');
  await page.screenshot({ path: 'screenshots/model-deploy.png' });
  const targets = (await (await page.request.get(`${API}/config`)).json())
    .targets as { kind: string }[];
  if (!targets.some(t => t.kind === 'kubernetes')) {
    // This server has no Kubernetes target: the dialog says so and refuses.
    await expect(deploy).toContainText('No Kubernetes target is configured');
    await expect(
      deploy.locator('.jp-Dialog-button.jp-mod-accept')
    ).toBeDisabled();
    await deploy.locator('.jp-Dialog-button.jp-mod-reject').click();
  }
});
