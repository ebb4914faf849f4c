import { test, expect } from '@playwright/test';
import { open, signIn } from './helpers';

test('a signed-out visit is refused and sent to sign-in', async ({ page }) => {
  await page.goto('/segments');
  await expect(page).toHaveURL(/\/login\?next=\/segments$/);
  await expect(page.getByRole('heading', { name: 'Sign in to the admin console' })).toBeVisible();
  // A server function called directly answers 401 and does nothing.
  const res = await page.request.post('/api/create_segment', {
    form: { id_number: 'sneaky', name: 'Sneaky', description: '' },
  });
  expect(res.status()).toBe(401);
});

test('a wrong password is refused with a clear message', async ({ page }) => {
  await signIn(page, 'e2e.admin', 'not the password');
  await expect(page.getByRole('alert')).toHaveText('Incorrect username or password.');
  await expect(page).toHaveURL(/\/login/);
});

test('repeated wrong passwords lock the account with a clear message', async ({ page }) => {
  // An account of its own (it need not exist), so no other test is locked out.
  const name = `guessed.${Date.now()}`;
  for (let i = 0; i < 5; i++) {
    await signIn(page, name, `guess ${i}`);
    await expect(page.getByRole('alert')).toHaveText('Incorrect username or password.');
  }
  await signIn(page, name, 'guess 6');
  await expect(page.getByRole('alert')).toHaveText(
    /^Too many failed sign-ins for this account\. Try again in \d+ minutes?\.$/,
  );
  await expect(page).toHaveURL(/\/login/);
});

test('sign in, create a segment, add and remove a member, delete it, sign out', async ({ page }) => {
  const idNumber = `e2e-${Date.now()}`;
  const name = `Playwright cohort ${idNumber}`;

  await signIn(page);
  await expect(page).toHaveURL(/\/segments$/);
  await expect(page.getByRole('heading', { name: 'User segments' })).toBeVisible();
  // The demo data is there: a dozen segments with members.
  await expect(page.getByRole('cell', { name: 'Sales Team', exact: true })).toBeVisible();

  await page.getByRole('link', { name: 'Create segment' }).click();
  await expect(page.getByRole('heading', { name: 'Create segment' })).toBeVisible();
  await page.getByLabel('ID number').fill(idNumber);
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Description').fill('Created by the end-to-end suite');
  await page.getByRole('button', { name: 'Save segment' }).click();

  // Lands on the new segment's members page.
  await expect(page.getByRole('heading', { name: `Segment: ${name}` })).toBeVisible();
  await expect(page.getByText('No members yet.')).toBeVisible();

  // Suggestions come from the server as the admin types.
  const username = page.getByLabel('Username');
  await username.fill('amelia.smi');
  await expect(page.locator('#user-suggestions option[value="amelia.smith1"]')).toHaveCount(1);
  await username.fill('amelia.smith1');
  await page.getByRole('button', { name: 'Add member' }).click();
  await expect(page.getByRole('status')).toHaveText('Added amelia.smith1 to the segment.');
  const members = page.getByRole('table', { name: 'Members' });
  await expect(members.getByRole('cell', { name: 'amelia.smith1', exact: true })).toBeVisible();
  await expect(page.getByText('· 1 members')).toBeVisible();

  // Unknown usernames are refused with a message that names them.
  await username.fill('no.such.user');
  await page.getByRole('button', { name: 'Add member' }).click();
  await expect(page.getByRole('alert')).toContainText('no.such.user');

  await page.getByRole('button', { name: 'Remove amelia.smith1 from the segment' }).click();
  await expect(page.getByText('No members yet.')).toBeVisible();
  await expect(members.getByRole('cell', { name: 'amelia.smith1' })).toHaveCount(0);

  // Back to the list: search, then delete with the confirm step.
  await page.getByRole('link', { name: 'Manage user segments' }).click();
  await page.getByLabel('Search segments').fill(idNumber);
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(new RegExp(`q=${idNumber}`));
  const row = page.getByRole('row').filter({ hasText: idNumber });
  await expect(row).toHaveCount(1);
  await page.getByRole('button', { name: `Delete segment ${name}` }).click();
  const dialog = page.getByRole('alertdialog');
  await expect(dialog).toContainText(`Segment ${idNumber} and its 0 memberships will be removed`);
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(row).toHaveCount(1);
  await page.getByRole('button', { name: `Delete segment ${name}` }).click();
  await page.getByRole('alertdialog').getByRole('button', { name: 'Confirm delete' }).click();
  await expect(page.getByText('No segments match.')).toBeVisible();

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto('/segments');
  await expect(page).toHaveURL(/\/login\?next=\/segments$/);
});

test('the users list is searchable and paginated', async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/segments$/);
  await open(page, '/users');
  // The demo's 5,000 users and the admin, plus whatever other specs created before this one.
  const pager = page.getByText(/Page 1 of \d+ \(\d+ users\)/);
  await expect(pager).toBeVisible();
  const total = Number((await pager.textContent())!.match(/\((\d+) users\)/)![1]);
  expect(total).toBeGreaterThanOrEqual(5001);
  await page.getByLabel('Search users').fill('amelia.smith');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByRole('cell', { name: 'amelia.smith1', exact: true })).toBeVisible();
  await expect(page.getByText(/\(6 users\)/)).toBeVisible();
  await open(page, '/users');
  await page.getByRole('link', { name: 'Next page' }).click();
  await expect(page.getByText(/Page 2 of/)).toBeVisible();
});
