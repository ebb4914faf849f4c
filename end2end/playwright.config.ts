import { defineConfig } from '@playwright/test';

// The server under test is started by scripts/e2e-server.sh on a fresh database given by
// E2E_DATABASE_URL (SQLite file or a PostgreSQL database); test.sh runs this suite once per DB.
const port = process.env.E2E_PORT ?? '3107';
export const ADMIN = 'e2e.admin';
export const ADMIN_PASSWORD = 'e2e-admin-password';

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: 'retain-on-failure',
    launchOptions: {
      // Debian's Chromium: Playwright's own browser download is not reachable here.
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        '--no-first-run',
      ],
    },
  },
  webServer: {
    command: 'bash ../scripts/e2e-server.sh',
    url: `http://127.0.0.1:${port}/login`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      ...(process.env as Record<string, string>),
      E2E_PORT: port,
      E2E_ADMIN: ADMIN,
      E2E_ADMIN_PASSWORD: ADMIN_PASSWORD,
      DATABASE_URL: process.env.E2E_DATABASE_URL ?? `sqlite://${process.cwd()}/../.tmp/e2e/console.db?mode=rwc`,
    },
  },
});
