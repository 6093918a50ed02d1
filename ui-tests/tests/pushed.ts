/**
 * What the specs that measure pushed changes share: the panel's fallback poll
 * interval set through the settings, and percentiles of the measured lags.
 */
import type { Page } from '@playwright/test';

const PLUGIN_ID = 'jupyter-mlplat:plugin';

/**
 * Set the panel's poll interval (ms), or back to its default with null; the
 * page reads it at its next load.
 */
export async function setPollInterval(
  page: Page,
  value: number | null
): Promise<void> {
  await page.evaluate(
    async ({ id, value }) => {
      const app = (window as any).jupyterapp;
      await app.serviceManager.settings.save(
        id,
        JSON.stringify(value === null ? {} : { pollInterval: value })
      );
    },
    { id: PLUGIN_ID, value }
  );
}

/** The `q` quantile of `values` (nearest rank). */
export function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[
    Math.min(sorted.length - 1, Math.round(q * (sorted.length - 1)))
  ];
}
