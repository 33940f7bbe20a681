import type { Item } from '../item';
import { compileFilters, compileHides, isEmptyFilters, isRuleActive, matchesCondition } from './conditions';
import type { Condition } from './ranking-config.schema';

const shoe: Item = {
  id: 'sku-1',
  title: 'Red Running Shoe SALE',
  categories: ['shoes', 'running'],
  tags: ['vegan', 'new'],
  attributes: { brand: 'acme', size: 42, waterproof: true },
  price: 80,
  available: true,
  createdAt: '2026-11-10T00:00:00Z',
};
const bare: Item = { id: 'sku-2', title: 'Plain', available: false };

const cases: [Condition, boolean, boolean][] = [
  // [condition, on shoe, on bare]
  [{ field: 'categories', eq: 'shoes' }, true, false],
  [{ field: 'categories', contains: 'running' }, true, false],
  [{ field: 'categories', in: ['hats', 'running'] }, true, false],
  [{ field: 'categories', ne: 'shoes' }, false, true],
  [{ field: 'tags', contains: 'discontinued' }, false, false],
  [{ field: 'attributes.brand', eq: 'acme' }, true, false],
  [{ field: 'attributes.brand', ne: 'acme' }, false, true],
  [{ field: 'attributes.size', gte: 42 }, true, false],
  [{ field: 'attributes.size', gt: 42 }, false, false],
  [{ field: 'attributes.size', eq: '42' }, false, false],
  [{ field: 'attributes.waterproof', eq: true }, true, false],
  [{ field: 'price', lt: 100 }, true, false],
  [{ field: 'price', lte: 79.99 }, false, false],
  [{ field: 'available', eq: false }, false, true],
  [{ field: 'title', contains: 'sale' }, true, false],
  [{ field: 'id', in: ['sku-2', 'sku-3'] }, false, true],
  [{ field: 'createdAt', gte: '2026-11-09T23:00:00-02:00' }, false, false],
  [{ field: 'createdAt', lt: '2026-11-10T01:00:00+00:00' }, true, false],
];

describe('matchesCondition', () => {
  it.each(cases)('%j → shoe %s, bare %s', (cond, onShoe, onBare) => {
    expect(matchesCondition(shoe, cond)).toBe(onShoe);
    expect(matchesCondition(bare, cond)).toBe(onBare);
  });
});

describe('compileFilters', () => {
  const items: Item[] = [
    shoe,
    bare,
    { ...shoe, id: 'sku-3', categories: ['shoes', 'clearance'] },
    { ...shoe, id: 'sku-4', tags: ['leather'] },
    { ...shoe, id: 'sku-5', price: 150 },
    { ...shoe, id: 'sku-6', attributes: { brand: 'other' } },
  ];
  const ids = (f: (i: Item) => boolean): string[] => items.filter(f).map((i) => i.id);

  it('applies every clause of the issue example', () => {
    const f = compileFilters({
      available: true,
      price: { gte: 0, lte: 100 },
      categories: { any: ['shoes'], none: ['clearance'] },
      tags: { all: ['vegan'] },
      attributes: { brand: { eq: 'acme' } },
    });
    expect(ids(f)).toEqual(['sku-1']);
  });

  it('ANDs config filters with request filters', () => {
    expect(ids(compileFilters({ categories: { any: ['shoes'] } }))).toEqual([
      'sku-1',
      'sku-3',
      'sku-4',
      'sku-5',
      'sku-6',
    ]);
    expect(ids(compileFilters({ categories: { any: ['shoes'] } }, { price: { gt: 100 } }))).toEqual([
      'sku-5',
    ]);
    expect(ids(compileFilters(undefined, {}))).toHaveLength(items.length);
    expect(isEmptyFilters({}, undefined, { attributes: {} })).toBe(true);
    expect(isEmptyFilters({}, { available: true })).toBe(false);
  });
});

describe('rules', () => {
  const window = { from: '2026-11-01T00:00:00Z', until: '2026-12-01T00:00:00Z' };
  it('is active from `from` (inclusive) until `until` (exclusive)', () => {
    expect(isRuleActive(window, Date.parse('2026-10-31T23:59:59Z'))).toBe(false);
    expect(isRuleActive(window, Date.parse('2026-11-01T00:00:00Z'))).toBe(true);
    expect(isRuleActive(window, Date.parse('2026-11-30T23:59:59Z'))).toBe(true);
    expect(isRuleActive(window, Date.parse('2026-12-01T00:00:00Z'))).toBe(false);
    expect(isRuleActive({}, 0)).toBe(true);
  });

  it('hides only with active hide rules', () => {
    const hide = compileHides(
      [
        { hide: { field: 'tags', contains: 'new' }, ...window },
        { pin: 'sku-1', position: 1 },
      ],
      Date.parse('2026-11-15T00:00:00Z'),
    );
    expect(hide(shoe)).toBe(true);
    expect(hide(bare)).toBe(false);
    const later = compileHides(
      [{ hide: { field: 'tags', contains: 'new' }, ...window }],
      Date.parse('2027-01-01'),
    );
    expect(later(shoe)).toBe(false);
  });
});
