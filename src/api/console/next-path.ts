/** Where the console sends a visitor after sign-in: only a path of the console itself. */

export const CONSOLE_HOME = '/console';

// Resolves a path against this placeholder origin to see where a browser would go.
const BASE = 'http://console.invalid';
// Control characters (CR, LF, tab, ...: below U+0020, and DEL) and the backslash browsers read
// as a slash.
const refused = (text: string) => {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f || code === 0x5c) return true;
  }
  return false;
};

/**
 * The sign-in's `next` (a query or form value: anything) as a redirect target: a same-origin path under /console (the console
 * home, or below it), normalised and percent-encoded as a Location header may carry it;
 * anything else (absent, another origin, `//host`, a scheme, control characters such as CR
 * or LF, a backslash, dot segments leaving /console) is the console home.
 */
export function consoleNext(next: unknown): string {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//') || refused(next))
    return CONSOLE_HOME;
  let url: URL;
  try {
    url = new URL(next, BASE);
  } catch {
    return CONSOLE_HOME;
  }
  if (url.origin !== BASE) return CONSOLE_HOME;
  if (url.pathname !== CONSOLE_HOME && !url.pathname.startsWith(`${CONSOLE_HOME}/`)) return CONSOLE_HOME;
  return `${url.pathname}${url.search}${url.hash}`;
}
