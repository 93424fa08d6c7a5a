import { Layout, Notice } from './layout';

/** Sign-in: a tenant admin with the tenant's API key, the operator with the operator token. */
export function SignInPage({ csrf, next, error }: { csrf: string; next: string; error?: string }) {
  return (
    <Layout frame={{ title: 'Sign in' }}>
      <div class="signin">
        <h1>Sign in</h1>
        {error && <Notice kind="error">{error}</Notice>}
        <form class="stack" method="post" action="/console/sign-in">
          <input type="hidden" name="_csrf" value={csrf} />
          <input type="hidden" name="next" value={next} />
          <label>
            API key or operator token
            <input
              name="credential"
              type="password"
              autocomplete="current-password"
              required
              spellcheck={false}
              aria-describedby="credential-hint"
            />
            <span class="hint" id="credential-hint">
              A tenant admin signs in with one of the tenant's API keys (rtk.…); the session lasts a working
              day and ends when the key is revoked.
            </span>
          </label>
          <button type="submit">Sign in</button>
        </form>
      </div>
    </Layout>
  );
}
