import { consoleNext } from '../../../../src/api/console/next-path';

describe("the console sign-in's next", () => {
  it('keeps a path of the console, normalised and percent-encoded', () => {
    expect(consoleNext('/console')).toBe('/console');
    expect(consoleNext('/console/t/acme/funds?month=2026-11#lots')).toBe(
      '/console/t/acme/funds?month=2026-11#lots',
    );
    expect(consoleNext('/console/t/acme/./usage')).toBe('/console/t/acme/usage');
    expect(consoleNext('/console/t/äcme?u=é')).toBe('/console/t/%C3%A4cme?u=%C3%A9');
  });

  it('falls back to the console home for anything else', () => {
    for (const next of [
      undefined,
      '',
      ['/console/a', '/console/b'],
      '/console\r\nSet-Cookie: x=1',
      '/console/t/acme\n',
      '/console/t/acme\r',
      '/console\t/x',
      '/console\u0000',
      '\r\n/console',
      '//evil.example/console',
      '/\\evil.example',
      '/console\\..\\v1',
      'https://evil.example/console',
      'javascript:alert(1)',
      'console',
      '/consoles',
      '/console-evil',
      '/console/../v1/tenants',
      '/console/%2e%2e/v1',
      '/v1/tenants/acme',
    ])
      expect(consoleNext(next)).toBe('/console');
  });
});
