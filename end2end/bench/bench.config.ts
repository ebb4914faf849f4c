import { defineConfig } from '@playwright/test';
import base from '../playwright.config';

// The browser benchmark (README: scripts/bench-browser.sh): same server and Chromium as the e2e
// suite, long timeouts, numbers printed, no timing assertions.
export default defineConfig({
  ...base,
  testDir: '.',
  testMatch: /.*\.bench\.ts/,
  timeout: 15 * 60_000,
  expect: { timeout: 120_000 },
});
