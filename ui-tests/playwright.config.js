/**
 * Galata's Playwright configuration, run in the system's Chromium (no
 * browser download).
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

// The server's port: 8888 unless MLPLAT_UI_PORT names another (two runs on one machine).
const port = process.env.MLPLAT_UI_PORT || '8888';

module.exports = {
  ...baseConfig,
  timeout: 240 * 1000,
  use: {
    ...baseConfig.use,
    baseURL: `http://localhost:${port}`,
    // Video needs Playwright's own ffmpeg build, which is not installed.
    video: 'off',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic'
      ]
    }
  },
  webServer: {
    command: 'jlpm start',
    url: `http://localhost:${port}/lab`,
    // The server starts the HDFS mini clusters first (see its config file).
    timeout: 360 * 1000,
    // SIGTERM lets the server stop the clusters it started on its way out.
    gracefulShutdown: { signal: 'SIGTERM', timeout: 60 * 1000 },
    reuseExistingServer: !process.env.CI
  }
};
