import { ledgerFixture, LedgerFixture, prepaid } from '../../support/ledger';

/** TenantRegistry.search: SSCAN with MATCH on the escaped query, a page at a time. */
describe('tenant search', () => {
  let f: LedgerFixture;
  const tenants = ['acme', 'acme-eu', 'acme.us', 'globex', 'initech', 'ACME_old', 'umbrella', 'xacmex'];

  beforeAll(async () => {
    f = ledgerFixture();
    for (const tenant of tenants) await f.ledger.writes.upsertAccount(tenant, prepaid());
  });
  afterAll(() => f.close());

  /** Every page of a search, with the pages' own order checked. */
  async function all(query: string | undefined, count: number, fixture = f) {
    const found: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await fixture.ledger.tenants.search({
        ...(query === undefined ? {} : { query }),
        cursor,
        count,
      });
      expect(page.tenants).toEqual([...page.tenants].sort());
      found.push(...page.tenants);
      cursor = page.nextCursor ?? undefined;
      pages += 1;
    } while (cursor !== undefined);
    return { found: [...new Set(found)].sort(), pages };
  }

  it('finds the tenants whose id contains the query, case as given', async () => {
    expect((await all('acme', 100)).found).toEqual(['acme', 'acme-eu', 'acme.us', 'xacmex']);
    expect((await all('ACME', 100)).found).toEqual(['ACME_old']);
    expect((await all('.', 100)).found).toEqual(['acme.us']);
    expect((await all('nobody', 100)).found).toEqual([]);
  });

  it('matches glob characters as themselves', async () => {
    for (const query of ['*', '?', '[a-z]', 'acm?', '\\']) expect((await all(query, 100)).found).toEqual([]);
  });

  it('lists every tenant without a query', async () => {
    expect(await f.ledger.tenants.search({ count: 100 })).toEqual({
      tenants: [...tenants].sort(),
      nextCursor: null,
    });
  });

  it('pages a large registry, each page resuming from the cursor', async () => {
    // Past 128 members Redis keeps a set as a hash table, which SSCAN reads a part at a time
    // (a smaller set comes back whole, whatever the count).
    const large = ledgerFixture();
    try {
      const many = Array.from({ length: 300 }, (_, i) => `t${String(i).padStart(3, '0')}`);
      for (let i = 0; i < many.length; i += 50)
        await Promise.all(many.slice(i, i + 50).map((t) => large.ledger.writes.upsertAccount(t, prepaid())));
      const paged = await all(undefined, 20, large);
      expect(paged.found).toEqual(many);
      expect(paged.pages).toBeGreaterThan(3);
      const matching = await all('t1', 20, large);
      expect(matching.found).toEqual(many.filter((t) => t.includes('t1')));
    } finally {
      large.close();
    }
  });

  it('refuses a count or cursor it cannot send', async () => {
    await expect(f.ledger.tenants.search({ count: 0 })).rejects.toThrow(RangeError);
    await expect(f.ledger.tenants.search({ count: 1001 })).rejects.toThrow(RangeError);
    await expect(f.ledger.tenants.search({ count: 10, cursor: 'abc' })).rejects.toThrow(RangeError);
  });
});
