import { test, expect, Page } from '@playwright/test';
import { open, signIn } from './helpers';

// The sync article's steps 1 and 2 "in bulk" (SPEC 7), as an admin would do them: create the
// segments, the course groups, link them, enrol users in bulk and see the group fill; then
// undo from the upload history. Every name carries a stamp so reruns on one database agree.

async function choose(page: Page, name: string, text: string) {
  await page.getByLabel('CSV file').setInputFiles({ name, mimeType: 'text/csv', buffer: Buffer.from(text, 'utf8') });
}

function summaryValue(page: Page, table: string, label: string) {
  return page.getByRole('table', { name: table }).getByRole('row', { name: new RegExp(`^${label} \\d+$`) }).getByRole('cell');
}

function rowOfLine(page: Page, table: string, line: number) {
  return page.getByRole('table', { name: table }).getByRole('row').filter({ has: page.getByRole('cell', { name: String(line), exact: true }) });
}

test.beforeEach(async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/segments$/);
});

test('the article in bulk: segments, groups, a linked method, bulk enrolment fills the group, undo', async ({ page }) => {
  const s = Date.now().toString(36);
  const course = `IMP${s}`.toUpperCase();
  const dept = `dept-${s}`;

  // Step 1 in bulk: create the segments from a file. The duplicate line is refused, with its line.
  await open(page, '/segments');
  await page.getByRole('link', { name: 'Bulk create user segments' }).click();
  await expect(page.getByRole('heading', { name: 'Bulk create user segments' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Download the template CSV' })).toHaveAttribute('href', /idnumber%2Cname/);
  await choose(page, 'segments.csv', `idnumber,name,description,visible\n${dept},Dept ${s},Everyone in it,1\n${dept},Again,,\nbad-${s},Bad,,maybe\n`);
  await expect(summaryValue(page, 'Preview summary', 'Segments created')).toHaveText('1');
  await expect(rowOfLine(page, 'Rows', 3)).toContainText('duplicate_idnumber');
  await expect(rowOfLine(page, 'Rows', 4)).toContainText('invalid_visible');
  await page.getByLabel('Show only rows with errors').check();
  await expect(page.getByRole('table', { name: 'Rows' }).getByRole('row')).toHaveCount(3);
  await page.getByRole('button', { name: /^Commit bulk create user segments \(1 row without errors\)/ }).click();
  await expect(page.getByRole('heading', { name: 'Import committed' })).toBeVisible();
  await expect(summaryValue(page, 'Result summary', 'Segments created')).toHaveText('1');
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByRole('heading', { name: 'Import committed' })).toHaveCount(0);

  // Users in that segment, through the bulk upload (the first article).
  await open(page, '/upload');
  await page.getByLabel('Upload type').selectOption('add-new');
  await choose(page, 'people.csv', `username,firstname,lastname,email,cohort1\nin.${s},In,Member,in.${s}@example.com,${dept}\nout.${s},Out,Sider,out.${s}@example.com,\n`);
  await page.getByRole('button', { name: /^Bulk upload users via CSV/ }).click();
  await expect(page.getByRole('heading', { name: 'Upload committed' })).toBeVisible();

  // A course, and step 2 in bulk from its Groups section, with the course filled in.
  await open(page, '/courses/new');
  await page.getByLabel('Short name').fill(course);
  await page.getByLabel('Full name').fill(`Imports ${s}`);
  await page.getByRole('button', { name: 'Save course' }).click();
  await expect(page.getByRole('heading', { name: `Course: Imports ${s}` })).toBeVisible();
  const courseUrl = page.url();
  await page.getByRole('region', { name: 'Groups' }).getByRole('link', { name: 'Bulk create course groups' }).click();
  await expect(page.getByRole('heading', { name: 'Bulk create course groups' })).toBeVisible();
  await expect(page.getByText(`For course ${course}`)).toBeVisible();
  await expect(page.getByRole('link', { name: 'Download the template CSV' })).toHaveAttribute('href', new RegExp(course));
  await choose(page, 'groups.csv', `course,groupname,groupidnumber\n${course},Team ${s},t-${s}\n${course},Other ${s},t-${s}\nNOPE-${s},X,\n`);
  await expect(rowOfLine(page, 'Rows', 3)).toContainText('groupidnumber_taken');
  await expect(rowOfLine(page, 'Rows', 4)).toContainText('unknown_course');
  await expect(page.getByRole('list', { name: 'By course breakdown' })).toContainText(`${course}: 1 to add`);
  await page.getByRole('button', { name: /^Commit bulk create course groups/ }).click();
  await expect(summaryValue(page, 'Result summary', 'Groups created')).toHaveText('1');

  // Step 4 of the article: the segment fills the group through the enrolment method.
  await page.goto(courseUrl);
  await open(page, new URL(courseUrl).pathname);
  await page.getByLabel('Method', { exact: true }).selectOption({ label: 'User segment members to group' });
  await page.getByLabel('User segment', { exact: true }).selectOption({ label: `Dept ${s} (${dept})` });
  await page.getByLabel('Group', { exact: true }).selectOption({ label: `Team ${s}` });
  await page.getByRole('button', { name: 'Add method' }).click();
  await expect(page.getByRole('status')).toContainText('Method added');

  // Bulk enrolment: the preview shows the group membership it will cause, the commit makes it.
  await open(page, '/import/enrolments');
  await choose(page, 'enrol.csv', `username,course1,status1\nin.${s},${course},\nout.${s},${course},active\nghost.${s},${course},\nin.${s},${course},\n`);
  await expect(summaryValue(page, 'Preview summary', 'Enrolments added')).toHaveText('2');
  await expect(summaryValue(page, 'Preview summary', 'Group memberships added')).toHaveText('1');
  await expect(rowOfLine(page, 'Rows', 4)).toContainText('unknown_user');
  await expect(rowOfLine(page, 'Rows', 5)).toContainText('duplicate_pair');
  await page.getByRole('button', { name: /^Commit bulk enrol users into courses/ }).click();
  await expect(summaryValue(page, 'Result summary', 'Group memberships added')).toHaveText('1');
  await open(page, new URL(courseUrl).pathname);
  const team = page.getByRole('table', { name: new RegExp(`^Group: Team ${s} \\(1 members\\)$`) });
  await expect(team).toContainText(`in.${s}`);

  // Bulk add to groups: the other user goes into the team by hand.
  await page.getByRole('region', { name: 'Groups' }).getByRole('link', { name: 'Bulk add users to course groups' }).click();
  await expect(page.getByRole('heading', { name: 'Bulk add users to course groups' })).toBeVisible();
  await choose(page, 'members.csv', `username,course,group1\nout.${s},${course},Team ${s}\nin.${s},${course},Team ${s}\nout.${s},${course},Nope\n`);
  await expect(rowOfLine(page, 'Rows', 3)).toContainText('already_in_group');
  await expect(rowOfLine(page, 'Rows', 4)).toContainText('unknown_group');
  await page.getByRole('button', { name: /^Commit bulk add users to course groups/ }).click();
  await expect(summaryValue(page, 'Result summary', 'Group memberships added')).toHaveText('1');

  // The history lists every kind; undoing the enrolments takes back the membership they caused.
  await open(page, '/uploads');
  const enrolBatch = page.getByRole('row').filter({ hasText: 'enrol.csv' }).first();
  await expect(enrolBatch).toContainText('Bulk enrol users into courses');
  await enrolBatch.getByRole('button', { name: /Undo upload batch \d+/ }).click();
  await expect(page.getByRole('alertdialog')).toContainText('2 enrolments');
  await page.getByRole('button', { name: 'Confirm undo' }).click();
  await expect(page.getByRole('status')).toContainText('Undone');
  await open(page, new URL(courseUrl).pathname);
  await expect(page.getByRole('table', { name: new RegExp(`^Group: Team ${s} \\(1 members\\)$`) })).toContainText(`out.${s}`);

  // Undoing the segments batch says what goes with the segment, then deletes it.
  await open(page, '/uploads');
  const segBatch = page.getByRole('row').filter({ hasText: 'segments.csv' }).first();
  await segBatch.getByRole('button', { name: /Undo upload batch \d+/ }).click();
  await expect(page.getByRole('alertdialog')).toContainText('deletes 1 segment or group it created');
  await expect(page.getByRole('alertdialog')).toContainText('1 segment membership');
  await expect(page.getByRole('alertdialog')).toContainText('1 enrolment method');
  await page.getByRole('button', { name: 'Confirm undo' }).click();
  await expect(page.getByRole('status')).toContainText('Undone');
  await open(page, `/segments?q=${dept}`);
  await expect(page.getByRole('link', { name: `Dept ${s}`, exact: true })).toHaveCount(0);
});

test('a file error on an import page names the problem and changes nothing', async ({ page }) => {
  await open(page, '/import/group-members');
  await choose(page, 'wrong.csv', 'username,cohort1\nx,y\n');
  await expect(page.getByRole('alert')).toContainText('Unknown column "cohort1" (column 2)');
  await expect(page.getByRole('alert')).toContainText('Nothing was changed');
  await expect(page.getByRole('button', { name: /^Commit/ })).toHaveCount(0);
});
