import { test, expect, Page } from '@playwright/test';
import { createSegment, open, signIn } from './helpers';

// SPEC 8 as an admin would do it: define a menu profile field, upload users with it, automate a
// segment (preview, then save), and see the linked course group fill. Names carry a stamp.

async function choose(page: Page, name: string, text: string) {
  await page.getByLabel('CSV file').setInputFiles({ name, mimeType: 'text/csv', buffer: Buffer.from(text, 'utf8') });
}

test.beforeEach(async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/segments$/);
});

test('a menu field, an upload with it, an automated segment, and the course group fills', async ({ page }) => {
  const s = Date.now().toString(36);
  const field = `dept_${s}`;
  const course = `AUTO${s}`.toUpperCase();

  // The profile field.
  await open(page, '/profile-fields');
  await page.getByLabel('Shortname').fill(field);
  await page.getByLabel('Field name').fill(`Department ${s}`);
  await page.getByLabel('Type').selectOption('menu');
  await page.getByLabel('Menu options (one per line)').fill('Sales\nOps');
  await page.getByRole('button', { name: 'Create profile field' }).click();
  await expect(page.getByRole('status')).toHaveText(`Profile field ${field} created.`);
  await expect(page.getByRole('table', { name: 'Profile fields' })).toContainText('Sales, Ops');

  // Users with values, through the bulk upload; a bad value is a row error.
  await open(page, '/upload');
  await page.getByLabel('Upload type').selectOption('add-new');
  await choose(page, 'people.csv', `username,firstname,lastname,email,profile_field_${field}\nsa.${s},Sa,Les,sa.${s}@example.com,sales\nop.${s},Op,S,op.${s}@example.com,Ops\nhr.${s},H,R,hr.${s}@example.com,HR\n`);
  await expect(page.getByRole('table', { name: 'Rows' })).toContainText('invalid_profile_value');
  await page.getByRole('button', { name: /^Bulk upload users via CSV/ }).click();
  await expect(page.getByRole('heading', { name: 'Upload committed' })).toBeVisible();

  // A course whose group a "User segment members to group" method fills from the segment.
  await createSegment(page, `auto-${s}`, `Auto ${s}`);
  const segmentUrl = new URL(page.url()).pathname;
  await open(page, '/courses/new');
  await page.getByLabel('Short name').fill(course);
  await page.getByLabel('Full name').fill(`Automation ${s}`);
  await page.getByRole('button', { name: 'Save course' }).click();
  await expect(page.getByRole('heading', { name: `Course: Automation ${s}` })).toBeVisible();
  const courseUrl = new URL(page.url()).pathname;
  await page.getByLabel('New group name').fill(`Team ${s}`);
  await page.getByRole('button', { name: 'Add group' }).click();
  await expect(page.getByRole('table', { name: new RegExp(`^Group: Team ${s} \\(0 members\\)$`) })).toBeVisible();
  await page.getByLabel('Method', { exact: true }).selectOption({ label: 'User segment members to group' });
  await page.getByLabel('User segment', { exact: true }).selectOption({ label: `Auto ${s} (auto-${s})` });
  await page.getByLabel('Group', { exact: true }).selectOption({ label: `Team ${s}` });
  await page.getByRole('button', { name: 'Add method' }).click();
  await expect(page.getByRole('status')).toContainText('Method added');
  // Both users enrolled, so the group takes whoever the segment holds.
  await open(page, '/import/enrolments');
  await choose(page, 'enrol.csv', `username,course1\nsa.${s},${course}\nop.${s},${course}\n`);
  await page.getByRole('button', { name: /^Commit bulk enrol users into courses/ }).click();
  await expect(page.getByRole('heading', { name: 'Import committed' })).toBeVisible();

  // Automate the segment: preview who is added and what follows, then save exactly that.
  await open(page, segmentUrl);
  await expect(page.getByRole('region', { name: 'Automation' })).toContainText('This segment is manual.');
  await page.getByRole('button', { name: 'Add rule' }).click();
  await page.getByLabel('Rule 1 field').selectOption(field);
  await page.getByLabel('Rule 1 operator').selectOption('equals');
  await page.getByLabel('Rule 1 value').fill('SALES');
  await page.getByRole('button', { name: 'Preview changes' }).click();
  const preview = page.getByRole('status').filter({ hasText: 'Saving these rules' });
  await expect(preview).toContainText('adds 1 users and removes 0; 0 enrolments and 1 group memberships follow.');
  await expect(preview).toContainText(`Added, for example: sa.${s}`);
  await page.getByRole('button', { name: 'Save rules' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Rules saved' })).toHaveText('Rules saved: 1 added, 0 removed.');
  await expect(page.getByRole('region', { name: 'Automation' })).toContainText('This segment is automated');

  await open(page, courseUrl);
  const team = page.getByRole('table', { name: new RegExp(`^Group: Team ${s} \\(1 members\\)$`) });
  await expect(team).toContainText(`sa.${s}`);

  // The list says which segments are automated.
  await open(page, `/segments?q=auto-${s}`);
  await expect(page.getByRole('row').filter({ hasText: `auto-${s}` })).toContainText('Automated');
});

test('an invalid rule is refused with a message naming it', async ({ page }) => {
  const s = Date.now().toString(36);
  await createSegment(page, `bad-${s}`, `Bad ${s}`);
  await page.getByRole('button', { name: 'Add rule' }).click();
  await page.getByLabel('Rule 1 field').selectOption('email');
  await page.getByLabel('Rule 1 operator').selectOption('contains');
  await page.getByRole('button', { name: 'Add rule' }).click();
  await page.getByLabel('Rule 2 field').selectOption('suspended');
  await page.getByLabel('Rule 2 operator').selectOption('is_checked');
  await page.getByRole('button', { name: 'Preview changes' }).click();
  await expect(page.getByRole('alert')).toContainText('Rule 1 (email contains): the value is empty');
});
