/**
 * Longest-prefix match on E.164 numbers: a digit trie. Lookup walks at most 15 nodes, with
 * no allocation, whatever the table's size.
 */
interface Node<T> {
  children: (Node<T> | undefined)[];
  value: T | undefined;
}

const node = <T>(): Node<T> => ({ children: new Array(10), value: undefined });

export class PrefixTable<T> {
  private readonly root: Node<T> = node();
  private count = 0;

  /** Adds `+<digits>`; returns false when the prefix is there already. */
  add(prefix: string, value: T): boolean {
    let current = this.root;
    for (let i = 1; i < prefix.length; i++) {
      const digit = prefix.charCodeAt(i) - 48;
      current = current.children[digit] ??= node();
    }
    if (current.value !== undefined) return false;
    current.value = value;
    this.count += 1;
    return true;
  }

  /** The value of the longest prefix of `number` (E.164, with its +), or undefined. */
  lookup(number: string): T | undefined {
    let current: Node<T> | undefined = this.root;
    let best: T | undefined;
    for (let i = 1; i < number.length && current; i++) {
      const digit = number.charCodeAt(i) - 48;
      if (digit < 0 || digit > 9) return undefined;
      current = current.children[digit];
      if (current?.value !== undefined) best = current.value;
    }
    return best;
  }

  /** Every prefix with its value, in digit order (shorter before longer). */
  *entries(): Generator<[string, T]> {
    const walk = function* (current: Node<T>, prefix: string): Generator<[string, T]> {
      if (current.value !== undefined) yield [prefix, current.value];
      for (let digit = 0; digit < 10; digit++) {
        const next = current.children[digit];
        if (next) yield* walk(next, prefix + String(digit));
      }
    };
    yield* walk(this.root, '+');
  }

  get size(): number {
    return this.count;
  }
}

export const E164_PREFIX = /^\+[1-9]\d{0,14}$/;
