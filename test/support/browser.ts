import { execFileSync } from 'node:child_process';
import AxeBuilder from '@axe-core/playwright';
import { Browser, chromium, Page } from 'playwright-core';

/** Debian's Chromium (scripts/bootstrap.sh installs it), or the one CHROMIUM_PATH names. */
export function chromiumPath(): string {
  const named = process.env.CHROMIUM_PATH ?? 'chromium';
  if (named.includes('/')) return named;
  return execFileSync('sh', ['-c', `command -v ${named}`], { encoding: 'utf8' }).trim();
}

/** A headless Chromium; as root (CI containers) without its sandbox, which needs user namespaces. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
}

/** The serious and critical accessibility violations axe-core finds on the page, as readable lines. */
export async function seriousViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}
