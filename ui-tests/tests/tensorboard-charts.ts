/**
 * What TensorBoard drew, as the specs check it: the points of a scalar tag
 * read from TensorBoard's own chart request (a POST through our proxy), once
 * the scalar card has drawn its line.
 */
import { expect, type Page } from '@playwright/test';

export type Point = { step: number; value: number };

/**
 * Open TensorBoard with `open`, wait until its chart request answers with
 * the points of `tag`, and until the scalar card has drawn its line; return
 * the points (TensorBoard stores float32 values).
 */
export async function chartPoints(
  page: Page,
  open: () => Promise<unknown>,
  tag = 'loss'
): Promise<Point[]> {
  const answered = page.waitForResponse(
    resp =>
      resp.url().includes('/data/plugin/timeseries/timeSeries') &&
      resp.request().method() === 'POST' &&
      resp.request().postData()?.includes(tag) === true,
    { timeout: 180_000 }
  );
  await open();
  const resp = await answered;
  expect(resp.status()).toBe(200);
  const body = (await resp.json()) as Array<{
    tag: string;
    runToSeries?: Record<string, Point[]>;
  }>;
  const series = body.find(item => item.tag === tag);
  const runs = Object.values(series?.runToSeries ?? {});
  expect(runs.length).toBe(1);
  const frame = page
    .frameLocator('.jp-mlplat-tensorboard-widget iframe')
    .last();
  // The card's line: TensorBoard draws it into a canvas (WebGL/2D) or an
  // SVG path; either way the card holds a drawn chart, not a spinner.
  const card = frame.locator('scalar-card', { hasText: tag }).first();
  await expect(card).toBeVisible({ timeout: 60_000 });
  await expect(card.locator('mat-spinner')).toHaveCount(0, {
    timeout: 60_000
  });
  await expect(
    card.locator('line-chart canvas, line-chart svg path').first()
  ).toBeAttached({ timeout: 60_000 });
  await page.waitForTimeout(2000);
  return runs[0];
}

/** loss = 1 / (step + 1) for steps 0..n-1, rounded as the specs compare it. */
export function lossCurve(n: number): number[] {
  return Array.from({ length: n }, (_, step) =>
    Number((1 / (step + 1)).toFixed(4))
  );
}
