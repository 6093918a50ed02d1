import { expect, test } from '@jupyterlab/galata';

test.use({ autoGoto: false });

test('says how to fix a server extension that does not answer', async ({
  page
}) => {
  await page.route(/\/jupyter-mlplat\/api\/config/, route =>
    route.fulfill({ status: 404, body: '' })
  );
  await page.goto();
  await page.sidebar.openTab('jp-mlplat-panel');
  await expect(page.locator('.jp-mlplat-server-missing')).toContainText(
    'jupyter server extension enable jupyter_mlplat'
  );
  await expect(page.locator('.jp-Notification-Toast-error')).toContainText(
    'not answering'
  );
  await page.screenshot({ path: 'screenshots/server-missing.png' });
});
