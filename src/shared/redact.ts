/**
 * Query parameters that carry credentials (`?access_token=`, `?api_key=`, `?token=`...): the
 * API refuses them (a URL ends up in proxies' and browsers' histories), and their values
 * never reach a log line.
 */
export const CREDENTIAL_PARAMETER =
  /^(access[_-]?token|id[_-]?token|refresh[_-]?token|token|api[_-]?key|apikey|key|secret|client[_-]?secret|password|passwd|auth|authorization|bearer|sig|signature)$/i;

/** The URL with the value of every credential-like query parameter replaced by `[redacted]`. */
export function redactUrl(url: string | undefined): string | undefined {
  const at = url?.indexOf('?') ?? -1;
  if (url === undefined || at < 0) return url;
  const query = url
    .slice(at + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        /* a malformed escape: judged as written */
      }
      return CREDENTIAL_PARAMETER.test(decoded.trim()) ? `${name}=[redacted]` : pair;
    })
    .join('&');
  return `${url.slice(0, at)}?${query}`;
}
