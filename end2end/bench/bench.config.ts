import { defineConfig } from '@playwright/test';
import path from 'path';
import base from '../playwright.config';

// The browser benchmark (README: scripts/bench-browser.sh): same server and Chromium as the e2e
// suite, long timeouts, numbers printed, no timing assertions.
export default defineConfig({
  ...base,
  testDir: '.',
  testMatch: /.*\.bench\.ts/,
  timeout: 15 * 60_000,
  expect: { timeout: 120_000 },
  // `gc()` in the page: the core bench collects before and after each JS parser's timed calls,
  // so each pays for its own garbage and none for another's.
  use: {
    ...base.use,
    launchOptions: {
      ...base.use?.launchOptions,
      args: [...(base.use?.launchOptions?.args ?? []), '--js-flags=--expose-gc'],
    },
  },
  // Run the server launcher from end2end/, as the e2e suite does.
  webServer: { ...(base.webServer as object), cwd: path.resolve(__dirname, '..') } as any,
});
