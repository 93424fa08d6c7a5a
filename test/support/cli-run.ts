import type { Command } from 'commander';

/** Runs a command line in-process (against an app the test started): what it printed, and its exit code. */
export async function runCommand(
  command: Command,
  args: string[],
): Promise<{ out: string[]; err: string[]; code: number }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((text: string) => void out.push(text));
  const error = jest.spyOn(console, 'error').mockImplementation((text: string) => void err.push(text));
  try {
    process.exitCode = undefined;
    await command.parseAsync(['node', 'rater', ...args]);
    return { out, err, code: Number(process.exitCode ?? 0) };
  } finally {
    process.exitCode = undefined;
    log.mockRestore();
    error.mockRestore();
  }
}
