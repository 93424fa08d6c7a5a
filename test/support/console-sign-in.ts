/** Signs in to the console with a credential, as the sign-in form does: the session cookie. */
export async function consoleSignIn(url: string, credential: string): Promise<string> {
  const page = await fetch(`${url}/console/sign-in`);
  const csrfCookie = page.headers.getSetCookie().map((cookie) => cookie.split(';')[0]!);
  const token = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
  const signedIn = await fetch(`${url}/console/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: csrfCookie.join('; ') },
    body: new URLSearchParams({ _csrf: token, credential, next: '/console' }).toString(),
  });
  expect(signedIn.status).toBe(303);
  const session = signedIn.headers.getSetCookie().find((cookie) => cookie.startsWith('rater_session='));
  return [...csrfCookie, session!.split(';')[0]!].join('; ');
}
