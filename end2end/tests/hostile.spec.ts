import { test, expect, Page } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';
import { open, signIn } from './helpers';

// The hostile-input corpus (app/tests/hostile/, see manifest.json there) dropped on the real
// upload page: each file shows its documented outcome (the file error, or the summary counts and
// row codes), markup in the file is shown as text (no dialog, no injected element), and nothing
// is committed. The generated huge files are covered by the Rust tests only.

interface Case {
  name: string;
  what: string;
  options?: { upload_type?: string; delimiter?: string; encoding?: string };
  expect: {
    file_error?: string;
    rows?: number;
    rows_ok?: number;
    rows_with_errors?: number;
    codes?: string[];
  };
  writes: number;
  literal?: string[];
  generated?: boolean;
}

interface Manifest {
  knowledge: { users: string[]; segments: string[] };
  cases: Case[];
}

const CORPUS = path.join(__dirname, '..', '..', 'app', 'tests', 'hostile');
const manifest: Manifest = JSON.parse(fs.readFileSync(path.join(CORPUS, 'manifest.json'), 'utf8'));
const ALL_CODES = [
  'missing_username', 'invalid_username', 'unknown_user', 'user_exists', 'missing_field',
  'invalid_email', 'invalid_name', 'unknown_segment', 'too_many_fields', 'already_member', 'duplicate_pair',
];

function summaryValue(page: Page, label: string) {
  return page
    .getByRole('table', { name: 'Preview summary' })
    .getByRole('row', { name: new RegExp(`^${label} \\d+$`) })
    .getByRole('cell');
}

async function choose(page: Page, name: string, buffer: Buffer) {
  await page.getByLabel('CSV file').setInputFiles({ name, mimeType: 'text/csv', buffer });
}

// The corpus's known users (the demo data has the segments "sales" and "eng" already). Adding
// them with "add and update" is idempotent, so a second run changes nothing.
test.beforeAll(async ({ browser }, testInfo) => {
  const page = await browser.newPage({ baseURL: testInfo.project.use.baseURL });
  await signIn(page);
  await expect(page).toHaveURL(/\/segments$/);
  await open(page, '/upload');
  const lines = ['username,firstname,lastname,email'];
  for (const u of manifest.knowledge.users) lines.push(`${u},${u[0].toUpperCase()}${u.slice(1)},Known,${u}@example.com`);
  await page.getByLabel('Upload type').selectOption('add-and-update');
  await choose(page, 'hostile-known-users.csv', Buffer.from(lines.join('\n') + '\n', 'utf8'));
  await expect(summaryValue(page, 'Rows without errors')).toHaveText(String(manifest.knowledge.users.length));
  await page.getByRole('button', { name: /^Bulk upload users via CSV/ }).click();
  await expect(page.getByRole('heading', { name: 'Upload committed' })).toBeVisible();
  await page.close();
});

test.beforeEach(async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/segments$/);
});

for (const c of manifest.cases.filter((c) => !c.generated)) {
  test(`hostile ${c.name}`, async ({ page }) => {
    const dialogs: string[] = [];
    page.on('dialog', async (d) => {
      dialogs.push(d.message());
      await d.dismiss();
    });
    await open(page, '/upload');
    if (c.options?.upload_type) await page.getByLabel('Upload type').selectOption(c.options.upload_type);
    if (c.options?.delimiter) await page.getByLabel('Delimiter').selectOption(c.options.delimiter);
    if (c.options?.encoding) await page.getByLabel('Encoding').selectOption(c.options.encoding);
    await choose(page, c.name, fs.readFileSync(path.join(CORPUS, c.name)));

    if (c.expect.file_error !== undefined) {
      const alert = page.getByRole('alert');
      await expect(alert).toContainText(c.expect.file_error);
      await expect(alert).toContainText('Nothing was changed.');
      await expect(page.getByRole('heading', { name: 'Preview' })).toHaveCount(0);
      await expect(page.getByRole('button', { name: /^Bulk upload users via CSV/ })).toHaveCount(0);
    } else {
      await expect(page.getByRole('heading', { name: 'Preview' })).toBeVisible();
      await expect(summaryValue(page, 'Rows')).toHaveText(String(c.expect.rows));
      await expect(summaryValue(page, 'Rows without errors')).toHaveText(String(c.expect.rows_ok));
      await expect(summaryValue(page, 'Rows with errors')).toHaveText(String(c.expect.rows_with_errors));
      const rows = page.getByRole('table', { name: 'Rows' });
      for (const code of ALL_CODES) {
        if (c.expect.codes?.includes(code)) await expect(rows).toContainText(code);
        else await expect(rows).not.toContainText(code);
      }
      await expect(page.getByRole('button', { name: /^Bulk upload users via CSV/ })).toBeEnabled({ enabled: (c.expect.rows_ok ?? 0) > 0 });
    }

    // Markup and other hostile text is shown verbatim, as text.
    for (const text of c.literal ?? []) {
      await expect(page.locator('main')).toContainText(text);
    }
    await expect(page.locator('img[src="x"]')).toHaveCount(0);
    await expect(page.locator('script', { hasText: 'alert(' })).toHaveCount(0);
    await expect(page.locator('b', { hasText: 'Bold' })).toHaveCount(0);
    if ((c.literal ?? []).length > 0) await page.waitForTimeout(300); // an onerror would have fired
    expect(dialogs).toEqual([]);
    // Only previewed: nothing is committed.
    await expect(page.getByRole('heading', { name: 'Upload committed' })).toHaveCount(0);
  });
}
