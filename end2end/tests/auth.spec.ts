import { test, expect } from '@playwright/test';
import { ADMIN, ADMIN_PASSWORD } from '../playwright.config';

// Values of `next` a browser would read as another site (issue 9, item 1). After a correct
// password the admin must land on this site every time.
const smuggled = [
  '/\t/evil.example:9/x',
  '/\n/evil.example:9/x',
  '\t//evil.example:9/x',
  '/\\evil.example:9/x',
  '/\\\\evil.example:9/x',
  '\\\\evil.example:9/x',
  '//evil.example:9/x',
  '/.//evil.example:9/x',
  '/%2F%2Fevil.example:9/x',
  '/%09/evil.example:9/x',
  '%2F%2Fevil.example:9/x',
  'https://evil.example:9/x',
  ' //evil.example:9/x',
];

for (const next of smuggled) {
  test(`sign-in with next=${JSON.stringify(next)} stays on this site`, async ({ page, baseURL }) => {
    await page.goto(`/login?next=${encodeURIComponent(next)}`);
    await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
    await page.getByLabel('Username').fill(ADMIN);
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).not.toHaveURL(/\/login/);
    const landed = new URL(page.url());
    expect(landed.origin).toBe(new URL(baseURL!).origin);
    expect(landed.pathname.startsWith('//')).toBe(false);
  });
}

test('a plain local next is honoured after sign-in', async ({ page }) => {
  await page.goto(`/login?next=${encodeURIComponent('/users?q=amelia')}`);
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await page.getByLabel('Username').fill(ADMIN);
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/users\?q=amelia$/);
});
