/**
 * The playground aimed at a remote endpoint: this project's own HTTP service
 * (`npm run serve`, started here on a free port) is attacked from the page's attack lab, and the API
 * console sends its request there. The server's access log proves where the queries went.
 */
import { expect, type Page, test } from '@playwright/test';
import { freePort, type ServeProcess, startServeProcess } from '../tools/lib/serve-process';
import { openApp } from './helpers';

let server: ServeProcess;

test.beforeAll(async () => {
  server = await startServeProcess(['--models', '0']);
});

test.afterAll(() => {
  server?.child.kill('SIGTERM');
});

const requestsTo = (path: string) =>
  server
    .log()
    .split('\n')
    .filter((l) => l.includes(`"url":"${path}"`)).length;

async function pickTestImage(page: Page, index: number) {
  await page.getByTestId('tab-gallery').click();
  await page.getByTestId(`gallery-item-${index}`).click();
  await expect(page.getByTestId('current-image-source')).toHaveText(`Test image #${index}`);
}

test('the attack lab attacks the HTTP service chosen as target; the link keeps it', async ({ page }) => {
  test.setTimeout(180_000);
  await openApp(page, `?models=0&backend=wasm&endpoint=${encodeURIComponent(server.url)}`);
  await pickTestImage(page, 0);
  const p = page.getByTestId('attack-panel');
  await expect(p.getByTestId('attack-target-endpoint-http')).toBeChecked();
  await expect(p.getByTestId('attack-target-endpoint-url')).toHaveValue(server.url);
  await p.getByTestId('attack-model').selectOption('0');
  await p.getByTestId('attack-method').selectOption('square');
  await p.getByTestId('attack-norm').selectOption('linf');
  await p.getByTestId('attack-eps').fill('0.1');
  await p.getByTestId('attack-max-queries').fill('200');
  await p.getByTestId('attack-seed').fill('1');
  const before = requestsTo('/0/score');
  await p.getByTestId('attack-run').click();
  await expect(p).toHaveAttribute('data-status', 'done', { timeout: 120_000 });
  // the adversarial verdict is one more request after "done": counted before `after` below
  await expect(p.getByTestId('attack-adversarial-decision')).toHaveAttribute('data-class', /^\d$/);
  await expect(p.getByTestId('attack-success')).toHaveAttribute('data-value', 'true');
  // the attack's queries (and the verdicts) were answered by the server, not the page
  await expect.poll(() => requestsTo('/0/score')).toBeGreaterThan(before + 1);
  expect(new URL(page.url()).searchParams.get('endpoint')).toBe(server.url);

  // back to the page's own models: the server sees nothing more
  await p.getByTestId('attack-target-endpoint-page').check();
  await expect.poll(() => new URL(page.url()).searchParams.get('endpoint')).toBeNull();
  const after = requestsTo('/0/score');
  await p.getByTestId('attack-max-queries').fill('50');
  await p.getByTestId('attack-run').click();
  await expect(p).toHaveAttribute('data-status', 'done', { timeout: 120_000 });
  expect(requestsTo('/0/score')).toBe(after);
});

test('an attack on an endpoint that does not answer names the endpoint and what to check', async ({
  page,
}) => {
  const dead = `http://127.0.0.1:${await freePort()}`; // nothing listens there
  await openApp(page, `?models=0&backend=wasm&endpoint=${encodeURIComponent(dead)}`);
  await pickTestImage(page, 0);
  const p = page.getByTestId('attack-panel');
  await expect(p.getByTestId('attack-target-endpoint-url')).toHaveValue(dead);
  await p.getByTestId('attack-model').selectOption('0');
  await p.getByTestId('attack-method').selectOption('square');
  await p.getByTestId('attack-max-queries').fill('50');
  await p.getByTestId('attack-run').click();
  await expect(p.getByTestId('attack-error')).toContainText(`${dead} did not answer`, { timeout: 60_000 });
  await expect(p.getByTestId('attack-error')).toContainText('is the service running');
});

test('the API console sends its request to the endpoint and shows the answer', async ({ page }) => {
  await openApp(page, `?models=0&endpoint=${encodeURIComponent(server.url)}`);
  const consoleBox = page.getByTestId('api-console');
  await expect(consoleBox).toContainText(`answered by ${server.url}`);
  // nothing goes to an endpoint (it may come from a link) until the user sends it
  await page.waitForTimeout(1000);
  expect(requestsTo('/0/decision')).toBe(0);
  await consoleBox.getByTestId('api-send').click();
  await expect(consoleBox.getByTestId('api-response')).toContainText('"data"', { timeout: 60_000 });
  await expect.poll(() => requestsTo('/0/decision')).toBeGreaterThan(0);
});
