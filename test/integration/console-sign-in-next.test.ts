import type { App } from '../../src/app';
import { startApiApp } from '../support/api-app';
import { uniqueName } from '../support/stack';

const OPERATOR = 'operator-secret-token-for-console-next';

/** The console's sign-in never fails on its `next`: a same-origin console path, else the home. */
describe("the console sign-in's redirect target", () => {
  let app: App;
  beforeAll(async () => {
    app = await startApiApp({ operatorToken: OPERATOR, keyPrefix: `${uniqueName('next')}:` });
  });
  afterAll(() => app.stop());

  /** A signed-out visit to the sign-in page: its CSRF token and the cookie it set. */
  const signInPage = async (query = '') => {
    const response = await fetch(`${app.url}/console/sign-in${query}`, { redirect: 'manual' });
    const html = await response.text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
    const next = /name="next" value="([^"]*)"/.exec(html)?.[1];
    const cookie = response.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    return { status: response.status, csrf: csrf!, next, cookie };
  };

  const signIn = async (next: string) => {
    const page = await signInPage();
    return fetch(`${app.url}/console/sign-in`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: page.cookie },
      body: new URLSearchParams({ _csrf: page.csrf, credential: OPERATOR, next }).toString(),
    });
  };

  it('sends the operator home for a next holding CR or LF, another origin or a path outside the console', async () => {
    for (const next of [
      '/console\r\nSet-Cookie: injected=1',
      '/console/t/acme\n',
      '/console/t/acme\r/funds',
      '//evil.example/console',
      '/console/../v1/tenants',
      'https://evil.example/',
    ]) {
      const response = await signIn(next);
      expect([next, response.status, response.headers.get('location')]).toEqual([
        next,
        303,
        '/console/operator',
      ]);
      expect(response.headers.get('set-cookie')).not.toContain('injected');
    }
  });

  it('goes back to the console page asked for, percent-encoded', async () => {
    const response = await signIn('/console/t/äcme/funds?month=2026-11');
    expect([response.status, response.headers.get('location')]).toEqual([
      303,
      '/console/t/%C3%A4cme/funds?month=2026-11',
    ]);
  });

  it('shows the sign-in page with the console home as next for a bad next in the query', async () => {
    for (const query of [
      '?next=%2Fconsole%0D%0Ax',
      '?next=%2Fconsole&next=%2Fconsole%2Fa',
      '?next=%2F%2Fevil.example',
    ]) {
      const page = await signInPage(query);
      expect([query, page.status, page.next]).toEqual([query, 200, '/console']);
    }
  });
});
