import { expect, Page } from '@playwright/test';
import { ADMIN, ADMIN_PASSWORD } from '../playwright.config';

/** Opens a page and waits until the WASM app has hydrated it. */
export async function open(page: Page, path: string) {
  await page.goto(path);
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
}

export async function signIn(page: Page, username = ADMIN, password = ADMIN_PASSWORD) {
  await open(page, '/login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Creates a segment through its form, so a test owns its memberships whatever ran before. */
export async function createSegment(page: Page, idNumber: string, name: string) {
  await open(page, '/segments/new');
  await page.getByLabel('ID number').fill(idNumber);
  await page.getByLabel('Name').fill(name);
  await page.getByRole('button', { name: 'Save segment' }).click();
  await expect(page.getByRole('heading', { name: `Segment: ${name}` })).toBeVisible();
}
