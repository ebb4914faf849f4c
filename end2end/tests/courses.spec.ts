import { test, expect, Page } from '@playwright/test';
import { open, signIn } from './helpers';

// Demo facts (kept apart from the other specs' users): leo.smith1 is in segment "sales" and not enrolled in "Company Onboarding",
// which has the groups "Sales Team", "Marketing Team" and "Operations Team".

async function course(page: Page, name: string) {
  await open(page, '/courses');
  await page.getByRole('link', { name, exact: true }).click();
  await expect(page.getByRole('heading', { name: `Course: ${name}` })).toBeVisible();
}

function group(page: Page, name: string) {
  return page.getByRole('table', { name: new RegExp(`^Group: ${name} \\(\\d+ members\\)$`) });
}

test.beforeEach(async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/segments$/);
});

test('the article: link a segment to a group, enrol a member, see them in the group; remove them from the segment, see them leave', async ({ page }) => {
  await course(page, 'Company Onboarding');
  // Step 4: add the "User segment members to group" method, linking the segment to the group.
  await page.getByLabel('Method', { exact: true }).selectOption({ label: 'User segment members to group' });
  await page.getByLabel('User segment', { exact: true }).selectOption({ label: 'Sales Team (sales)' });
  await page.getByLabel('Group', { exact: true }).selectOption({ label: 'Sales Team' });
  await page.getByRole('button', { name: 'Add method' }).click();
  await expect(page.getByRole('status')).toContainText('Method added');
  const methods = page.getByRole('table', { name: 'Enrolment methods' });
  await expect(methods).toContainText('User segment members to group (Sales Team → Sales Team)');

  // A member of the segment enrols in the course: they land in the group.
  await page.getByLabel('Username to enrol').fill('leo.smith1');
  await page.getByRole('button', { name: 'Enrol user' }).click();
  await expect(page.getByRole('status').first()).toContainText('Enrolled leo.smith1.');
  const sales = group(page, 'Sales Team');
  const row = sales.getByRole('row').filter({ hasText: 'leo.smith1' });
  await expect(row).toContainText('User segment members to group');
  // Made by the method, so it cannot be removed by hand.
  await expect(row.getByRole('button')).toHaveCount(0);

  // Removed from the segment: they leave the group.
  await open(page, '/segments?q=sales');
  await page.getByRole('link', { name: 'Sales Team', exact: true }).click();
  await page.getByLabel('Search members').fill('leo.smith1');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('button', { name: 'Remove leo.smith1 from the segment' }).click();
  await expect(page.getByText('No members yet.')).toBeVisible();
  await course(page, 'Company Onboarding');
  await expect(group(page, 'Sales Team').getByRole('row').filter({ hasText: 'leo.smith1' })).toHaveCount(0);

  // Deleting the method says what it removes, and removes only that.
  await page.getByRole('button', { name: 'Delete User segment members to group (Sales Team → Sales Team)' }).click();
  await expect(page.getByRole('alertdialog')).toContainText('Manual enrolments and memberships stay.');
  await page.getByRole('button', { name: 'Confirm delete method' }).click();
  await expect(methods).not.toContainText('User segment members to group');
});

test('user segment sync enrols the segment into a new group named after it', async ({ page }) => {
  await course(page, 'Customer First');
  await page.getByLabel('Method', { exact: true }).selectOption({ label: 'User segment sync' });
  await page.getByLabel('User segment', { exact: true }).selectOption({ label: 'Legal (legal)' });
  await page.getByLabel('Group', { exact: true }).selectOption({ label: 'Create a new group named after the segment' });
  await page.getByLabel('When a member leaves the segment').selectOption({ label: 'Keep the enrolment, suspended' });
  await page.getByRole('button', { name: 'Add method' }).click();
  await expect(page.getByRole('status')).toContainText(/Method added: \d{3} enrolments and \d{3} group memberships/);
  await expect(group(page, 'Legal')).toBeVisible();
  await expect(page.getByRole('table', { name: 'Enrolment methods' })).toContainText('User segment sync (Legal)');
  await expect(page.getByRole('table', { name: 'Participants' })).toContainText('User segment sync (Legal) (active)');
});

// Demo facts: amara.smith1 is in "People Managers" (managers) and not enrolled in "Finance for Non-Finance Managers",
// whose one group is "Managers"; no other spec uses either.
test('suspending a participant takes them out of method-made groups; reactivating brings them back', async ({ page }) => {
  await course(page, 'Finance for Non-Finance Managers');
  const sections = page.getByRole('navigation', { name: 'Course sections' });
  await expect(sections.getByRole('listitem')).toHaveCount(3);
  await page.getByLabel('Method', { exact: true }).selectOption({ label: 'User segment members to group' });
  await page.getByLabel('User segment', { exact: true }).selectOption({ label: 'People Managers (managers)' });
  await page.getByLabel('Group', { exact: true }).selectOption({ label: 'Managers' });
  await page.getByRole('button', { name: 'Add method' }).click();
  await expect(page.getByRole('status')).toContainText('Method added');

  await page.getByLabel('Username to enrol').fill('amara.smith1');
  await page.getByRole('button', { name: 'Enrol user' }).click();
  await expect(page.getByRole('status').first()).toContainText('Enrolled amara.smith1.');
  const participant = page.getByRole('table', { name: 'Participants' }).getByRole('row').filter({ hasText: 'amara.smith1' });
  const inGroup = group(page, 'Managers').getByRole('row').filter({ hasText: 'amara.smith1' });
  await expect(participant).toContainText('Manual enrolments (active)');
  await expect(inGroup).toHaveCount(1);

  await page.getByRole('button', { name: 'Suspend amara.smith1' }).click();
  await expect(participant).toContainText('Manual enrolments (suspended)');
  await expect(inGroup).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Suspend amara.smith1' })).toHaveCount(0);

  await page.getByRole('button', { name: 'Reactivate amara.smith1' }).click();
  await expect(participant).toContainText('Manual enrolments (active)');
  await expect(inGroup).toHaveCount(1);

  // Deleting the group says it takes the method that fills it, and does.
  await page.getByRole('button', { name: 'Delete group Managers' }).click();
  await expect(page.getByRole('alertdialog')).toContainText(
    'Deleting this group also deletes 1 “User segment members to group” method filling it, and their memberships.',
  );
  await page.getByRole('button', { name: 'Confirm delete group' }).click();
  await expect(group(page, 'Managers')).toHaveCount(0);
  await expect(page.getByRole('table', { name: 'Enrolment methods' })).not.toContainText('User segment members to group');
});
