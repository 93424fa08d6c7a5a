// ioredis's command arguments, patched (patches/ioredis+5.11.1.patch): a script call's thousands
// of arguments are copied, not walked by Array.prototype.flat; the same arguments either way.
/* eslint-disable @typescript-eslint/no-require-imports */
const Command = (require('ioredis/built/Command') as { default: new (name: string, args: unknown[]) => Cmd })
  .default;
const { flatArgs } = require('ioredis/built/utils') as { flatArgs: (args: unknown[]) => unknown[] };
/* eslint-enable @typescript-eslint/no-require-imports */

interface Cmd {
  args: unknown[];
  toWritable(socket: object): string | Buffer;
}

describe("ioredis's command arguments", () => {
  it('are the arguments one level flat, in a new array, as args.flat() makes them', () => {
    // eslint-disable-next-line no-sparse-arrays
    const holey = ['a', , 'c'];
    const cases: unknown[][] = [
      ['k', 'v', 2],
      ['x', ['y', 'z'], 1, []],
      [['a', ['b']], 'c'],
      holey,
      [],
      Array.from({ length: 7_000 }, (_, i) => `arg${i}`),
    ];
    for (const args of cases) {
      const flat = flatArgs(args);
      expect(flat).toEqual(args.flat());
      expect(flat).not.toBe(args);
      expect(new Command('evalsha', args).args).toEqual(args.flat().map(String)); // numbers as text
    }
  });

  it('are written as before', () => {
    const command = new Command('evalsha', ['sha', 2, 'k1', ['k2', 'v'], 'é']);
    expect(command.toWritable({})).toBe(
      '*7\r\n$7\r\nevalsha\r\n$3\r\nsha\r\n$1\r\n2\r\n$2\r\nk1\r\n$2\r\nk2\r\n$1\r\nv\r\n$2\r\né\r\n',
    );
  });
});
