import { test, expect, Page } from '@playwright/test';
import { mkdtempSync, truncateSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { createSegment, open, signIn } from './helpers';

// Demo data facts used here: amelia.smith1 is in "sales" and "managers"; oliver.smith1 is in
// "marketing"; neither is in "leaders-2026", "hr" or "it".

async function choose(page: Page, name: string, text: string | Buffer) {
  const buffer = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  await page.getByLabel('CSV file').setInputFiles({ name, mimeType: 'text/csv', buffer });
}

/** Writes a file to disk: choosing the same path twice is what an admin does, and a browser
 * fires no `change` for it unless the page has reset the input (a buffer always fires one). */
function onDisk(name: string, text: string) {
  const path = join(mkdtempSync(join(tmpdir(), 'e2e-upload-')), name);
  writeFileSync(path, text);
  return path;
}

const COMMIT = /^Bulk upload users via CSV/;

function summaryValue(page: Page, table: string, label: string) {
  return page.getByRole('table', { name: table }).getByRole('row', { name: new RegExp(`^${label} \\d+$`) }).getByRole('cell');
}

test.beforeEach(async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/segments$/);
  await open(page, '/upload');
});

test('a good file is previewed in the browser, committed, and can be undone', async ({ page }) => {
  await choose(page, 'leaders.csv', 'username,cohort1,cohort2\namelia.smith1,leaders-2026,hr\noliver.smith1,leaders-2026,\n');
  await expect(page.getByRole('heading', { name: 'Preview' })).toBeVisible();
  await expect(summaryValue(page, 'Preview summary', 'Memberships added')).toHaveText('3');
  await expect(summaryValue(page, 'Preview summary', 'Rows with errors')).toHaveText('0');
  await expect(page.getByRole('list', { name: 'Per-segment breakdown' })).toContainText('leaders-2026: 2 to add, 0 already members');
  const rows = page.getByRole('table', { name: 'Rows' });
  await expect(rows.getByRole('row')).toHaveCount(3);

  await page.getByRole('button', { name: 'Bulk upload users via CSV (2 rows without errors)', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Upload committed' })).toBeVisible();
  await expect(page.getByRole('status')).toContainText('3 memberships added');
  await expect(summaryValue(page, 'Result summary', 'Memberships added')).toHaveText('3');
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download the report (CSV)' }).click();
  expect((await download).suggestedFilename()).toBe('leaders-report.csv');

  // Committing the same file again changes nothing.
  await open(page, '/upload');
  await choose(page, 'leaders.csv', 'username,cohort1,cohort2\namelia.smith1,leaders-2026,hr\noliver.smith1,leaders-2026,\n');
  await expect(summaryValue(page, 'Preview summary', 'Memberships added')).toHaveText('0');
  await expect(summaryValue(page, 'Preview summary', 'Already members')).toHaveText('3');

  // Undo from the history page.
  await open(page, '/uploads');
  const batch = page.getByRole('row').filter({ hasText: 'leaders.csv' });
  await expect(batch).toContainText('Active (3 memberships present)');
  await batch.getByRole('button', { name: /Undo upload batch \d+/ }).click();
  await expect(page.getByRole('alertdialog')).toContainText('removes the 3 memberships');
  await page.getByRole('button', { name: 'Confirm undo' }).click();
  await expect(page.getByRole('status')).toHaveText('Undone: 3 memberships removed.');
  await expect(page.getByRole('row').filter({ hasText: 'leaders.csv' })).toContainText('Undone');
});

test('every row error code is shown, and changing an option re-validates at once', async ({ page }) => {
  const file = [
    'username,cohort1,cohort2,firstname,lastname,email',
    ',sales,,,,',
    'bad user!,sales,,,,',
    'ghost.user,sales,,,,',
    'amelia.smith1,no-such-segment,,,,',
    'amelia.smith1,it,,,,not-an-email',
    'amelia.smith1,it,,,,,surplus',
    'amelia.smith1,sales,,,,',
    'oliver.smith1,it,it,,,',
  ].join('\r\n');
  await choose(page, 'errors.csv', file);
  const rows = page.getByRole('table', { name: 'Rows' });
  for (const [line, code] of [
    ['2', 'missing_username'], ['3', 'invalid_username'], ['4', 'unknown_user'], ['5', 'unknown_segment'],
    ['6', 'invalid_email'], ['7', 'too_many_fields'], ['8', 'already_member'], ['9', 'duplicate_pair'],
  ]) {
    await expect(rows.getByRole('row').filter({ has: page.getByRole('cell', { name: line, exact: true }) })).toContainText(code);
  }
  await expect(summaryValue(page, 'Preview summary', 'Rows with errors')).toHaveText('6');
  await expect(rows).toContainText('No user segment has the ID number "no-such-segment" (column cohort1).');

  await page.getByLabel('Show only rows with errors').check();
  await expect(rows.getByRole('row')).toHaveCount(7);

  // The other two codes need an upload type that only adds users.
  await page.getByLabel('Upload type').selectOption('add-new');
  await expect(rows).toContainText('user_exists');
  await expect(rows.getByRole('row').filter({ hasText: 'ghost.user' })).toContainText('missing_field');
  await expect(summaryValue(page, 'Preview summary', 'Rows with errors')).toHaveText('8');
});

test('a file error is explained and nothing can be committed', async ({ page }) => {
  await choose(page, 'wrong.csv', 'username,department\namelia.smith1,Sales\n');
  await expect(page.getByRole('alert')).toContainText('Unknown column "department" (column 2)');
  await expect(page.getByRole('button', { name: COMMIT })).toHaveCount(0);
  await choose(page, 'quote.csv', 'username,cohort1\namelia.smith1,"sales\n');
  await expect(page.getByRole('alert')).toContainText('quoted cell that starts on line 2 is never closed');
});

test('a semicolon-delimited Windows-1252 file with a BOM creates users with accents', async ({ page }) => {
  const text = 'username;firstname;lastname;email;cohort1\r\nzoe.muller;Zoë;Müller;zoe.muller@example.com;it\r\n';
  // Windows-1252: every character here is Latin-1, so one byte each.
  const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'latin1')]);
  await choose(page, 'excel.csv', bytes);
  await expect(page.getByText(/excel\.csv: 1 rows, Windows-1252, delimiter semicolon/)).toBeVisible();
  await expect(page.getByRole('table', { name: 'Rows' })).toContainText('unknown_user');
  await page.getByLabel('Upload type').selectOption('add-and-update');
  await expect(summaryValue(page, 'Preview summary', 'Users created')).toHaveText('1');
  await page.getByRole('button', { name: COMMIT }).click();
  await expect(summaryValue(page, 'Result summary', 'Users created')).toHaveText('1');
  await open(page, '/users?q=zoe.muller');
  const row = page.getByRole('row').filter({ hasText: 'zoe.muller' });
  await expect(row).toContainText('Zoë');
  await expect(row).toContainText('Müller');
});

test('the rows table pages through a large file', async ({ page }) => {
  const lines = ['username,cohort1'];
  for (let i = 0; i < 250; i++) lines.push(`nobody${i},sales`);
  await choose(page, 'many.csv', lines.join('\n'));
  await expect(page.getByText('Page 1 of 3 (250 rows)')).toBeVisible();
  const rows = page.getByRole('table', { name: 'Rows' });
  await expect(rows.getByRole('row')).toHaveCount(101);
  await page.getByRole('button', { name: 'Next rows' }).click();
  await page.getByRole('button', { name: 'Next rows' }).click();
  await expect(page.getByText('Page 3 of 3 (250 rows)')).toBeVisible();
  await expect(rows.getByRole('row')).toHaveCount(51);
  await expect(page.getByRole('button', { name: 'Next rows' })).toBeDisabled();
  await expect(rows.getByRole('cell', { name: '251', exact: true })).toBeVisible();
});

/** Chooses a file of over 4 MiB (read as four slices): 50,000 rows of amelia.smith1 in
 * `segment`, lines of varying length straddling the slices' edges, then `last`; checks the row
 * count and that `last` alone has an error, at its own line, and gives that row. */
async function chooseSeveralMb(page: Page, name: string, segment: string, last: string, lastName: string) {
  const lines = ['username,cohort1,firstname'];
  const rows = 50_000;
  for (let i = 0; i < rows; i++) lines.push(`amelia.smith1,${segment},${'x'.repeat(40 + (i % 59))}`);
  lines.push(last);
  const text = lines.join('\n') + '\n';
  expect(text.length).toBeGreaterThan(4 * 1024 * 1024);
  await choose(page, name, text);
  await expect(summaryValue(page, 'Preview summary', 'Rows')).toHaveText(`${rows + 1}`, { timeout: 30_000 });
  await expect(summaryValue(page, 'Preview summary', 'Rows with errors')).toHaveText('1');
  await page.getByLabel('Show only rows with errors').check();
  const row = page.getByRole('table', { name: 'Rows' }).getByRole('row').filter({ hasText: lastName });
  await expect(row.getByRole('cell').first()).toHaveText(`${rows + 2}`);
  return row;
}

test('a file of several MB is read in slices and previewed whole, every row in order', async ({ page }) => {
  // A slice out of place or lost would break lines and move the last one.
  // The last row alone has an error: one cell too many.
  const last = await chooseSeveralMb(page, 'slices.csv', 'sales', 'oliver.smith1,sales,Oliver,extra', 'oliver.smith1');
  await expect(last).toContainText('too_many_fields');
});

test('a file of several MB with a quote only in its last slice is previewed and committed whole', async ({ page }) => {
  // The page parses the first slice while the rest is read; a quote in the rest changes how
  // the file reads, so that parse is dropped and the whole file read afresh. A quoted cell
  // split at its comma would make the last row too_many_fields and show `"oliver smith`.
  const stamp = Date.now();
  const segment = `quoted-${stamp}`;
  await createSegment(page, segment, `Quoted ${stamp}`);
  await open(page, '/upload');
  const last = await chooseSeveralMb(page, 'quoted.csv', segment, `"oliver smith, jr",${segment},Oliver`, 'oliver smith, jr');
  await expect(last).toContainText('invalid_username');
  await expect(last).not.toContainText('too_many_fields');
  // The commit sends the whole file, read by then: the server reads every row again.
  await page.getByRole('button', { name: COMMIT }).click();
  await expect(page.getByRole('heading', { name: 'Upload committed' })).toBeVisible({ timeout: 60_000 });
  await expect(summaryValue(page, 'Result summary', 'Memberships added')).toHaveText('1');
  await expect(summaryValue(page, 'Result summary', 'Rows with errors')).toHaveText('1');
});

test('a file of several GB is refused by name before it is read, and the page keeps working', async ({ page }) => {
  // Sparse: 5 GiB on disk in an instant. Read into the page's memory, it ended the page; it is
  // refused from its size alone.
  const path = onDisk('huge.csv', '');
  truncateSync(path, 5 * 1024 ** 3);
  await page.getByLabel('CSV file').setInputFiles(path);
  await expect(page.getByRole('alert')).toHaveText(
    'huge.csv: The file is 5368709120 bytes; the largest accepted is 268435456 bytes. Split it into smaller files.',
  );
  await expect(page.getByRole('heading', { name: 'Preview' })).toHaveCount(0);
  // The next choice clears the refusal and is previewed.
  await choose(page, 'small.csv', 'username,cohort1\namelia.smith1,sales\n');
  await expect(summaryValue(page, 'Preview summary', 'Rows')).toHaveText('1');
  await expect(page.getByRole('alert')).toHaveCount(0);
});

test('choosing the same file again after a commit starts a fresh preview; Continue starts over', async ({ page }) => {
  const stamp = Date.now();
  const segment = `again-${stamp}`;
  await createSegment(page, segment, `Again ${stamp}`);
  await open(page, '/upload');
  const path = onDisk('again.csv', `username,cohort1\nisla.smith1,${segment}\ngeorge.smith1,${segment}\n`);
  await page.getByLabel('CSV file').setInputFiles(path);
  await expect(summaryValue(page, 'Preview summary', 'Memberships added')).toHaveText('2');
  await page.getByRole('button', { name: COMMIT }).click();
  await expect(page.getByRole('heading', { name: 'Upload committed' })).toBeVisible();
  await expect(summaryValue(page, 'Result summary', 'Memberships added')).toHaveText('2');

  // The same file, chosen again on the same page: fresh look-ups, the old result gone.
  await page.getByLabel('CSV file').setInputFiles(path);
  await expect(page.getByRole('heading', { name: 'Upload committed' })).toHaveCount(0);
  await expect(summaryValue(page, 'Preview summary', 'Memberships added')).toHaveText('0');
  await expect(summaryValue(page, 'Preview summary', 'Already members')).toHaveText('2');

  // Commit it (nothing to add), then change an option: that preview also asks the server again.
  await page.getByRole('button', { name: COMMIT }).click();
  await expect(page.getByRole('heading', { name: 'Upload committed' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Preview' })).toHaveCount(0);
  await page.getByLabel('Existing user details').selectOption('override');
  await expect(page.getByRole('heading', { name: 'Upload committed' })).toHaveCount(0);
  await expect(summaryValue(page, 'Preview summary', 'Already members')).toHaveText('2');
  await page.getByRole('button', { name: COMMIT }).click();

  // "Continue", as in the article: a clean upload page, options back to their defaults.
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByRole('heading', { name: 'Upload committed' })).toHaveCount(0);
  await expect(page.getByRole('heading', { name: 'Preview' })).toHaveCount(0);
  await expect(page.getByLabel('Existing user details')).toHaveValue('no-changes');
  await page.getByLabel('CSV file').setInputFiles(path);
  await expect(summaryValue(page, 'Preview summary', 'Already members')).toHaveText('2');
});

test('changing the upload type recomputes the enrolments and group memberships a commit would cause', async ({ page }) => {
  const stamp = Date.now();
  const segment = `fx-${stamp}`;
  await createSegment(page, segment, `Effects ${stamp}`);
  await open(page, '/courses');
  await page.getByRole('link', { name: 'Finance for Non-Finance Managers', exact: true }).click();
  await page.getByLabel('Method', { exact: true }).selectOption({ label: 'User segment sync' });
  await page.getByLabel('User segment', { exact: true }).selectOption({ label: `Effects ${stamp} (${segment})` });
  await page.getByLabel('Group', { exact: true }).selectOption({ label: 'Create a new group named after the segment' });
  await page.getByRole('button', { name: 'Add method' }).click();
  await expect(page.getByRole('status')).toContainText('Method added');

  await open(page, '/upload');
  // One existing user and one new: only "add and update" applies both rows.
  await choose(page, 'effects.csv', [
    'username,cohort1,firstname,lastname,email',
    `ava.smith1,${segment},,,`,
    `fx.${stamp},${segment},Fx,Tester,fx.${stamp}@example.com`,
  ].join('\n'));
  await expect(summaryValue(page, 'Preview summary', 'Rows with errors')).toHaveText('1');
  await expect(summaryValue(page, 'Preview summary', 'Enrolments added')).toHaveText('1');
  await expect(summaryValue(page, 'Preview summary', 'Group memberships added')).toHaveText('1');

  await page.getByLabel('Upload type').selectOption('add-and-update');
  await expect(summaryValue(page, 'Preview summary', 'Rows with errors')).toHaveText('0');
  await expect(summaryValue(page, 'Preview summary', 'Enrolments added')).toHaveText('2');
  await expect(summaryValue(page, 'Preview summary', 'Group memberships added')).toHaveText('2');
});

test('while a delimiter change is re-parsed and checked, the upload cannot be committed', async ({ page }) => {
  await choose(page, 'reparse.csv', 'username,cohort1\namelia.smith1,it\n');
  const commit = page.getByRole('button', { name: COMMIT });
  await expect(commit).toBeEnabled();
  // Hold the re-parse's first server look-up until the test has looked at the button.
  let release = () => {};
  const held = new Promise<void>((resolve) => { release = resolve; });
  await page.route('**/api/upload_segments', async (route) => { await held; await route.continue(); });
  await page.getByLabel('Delimiter').selectOption('comma');
  await expect(commit).toBeDisabled();
  release();
  await expect(commit).toBeEnabled();
});

test("the article's path: Site admin > User management > Bulk upload users, with the template at the bottom too", async ({ page }) => {
  await open(page, '/segments');
  const group = page.getByRole('navigation', { name: 'Site admin' }).getByRole('list', { name: 'User management' });
  await expect(group.getByRole('link', { name: 'Manage user segments' })).toHaveAttribute('href', '/segments');
  await group.getByRole('link', { name: 'Bulk upload users' }).click();
  await expect(page).toHaveURL(/\/upload$/);
  await expect(page.getByRole('heading', { name: 'Bulk upload users', level: 1 })).toBeVisible();

  await choose(page, 'bottom.csv', 'username,cohort1\namelia.smith1,it\n');
  await expect(page.getByRole('button', { name: 'Bulk upload users via CSV (1 row without errors)', exact: true })).toBeEnabled();
  // "the bulk upload template attached at the bottom of this page": below the previewed rows.
  const bottom = page.getByRole('link', { name: 'Download the CSV template' });
  const rowsBox = await page.getByRole('table', { name: 'Rows' }).boundingBox();
  const linkBox = await bottom.boundingBox();
  expect(linkBox!.y).toBeGreaterThan(rowsBox!.y + rowsBox!.height);
  const download = page.waitForEvent('download');
  await bottom.click();
  expect((await download).suggestedFilename()).toBe('bulk-upload-template.csv');
  await expect(page.getByRole('link', { name: 'Download the template CSV' })).toBeVisible();
});
