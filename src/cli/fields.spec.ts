import {
  parseMap,
  planColumns,
  rowToRecord,
  splitList,
  toAttribute,
  toBoolean,
  toNumber,
  UsageError,
} from './fields';

describe('CSV field mapping', () => {
  it('parses --map as field=column pairs', () => {
    expect([...parseMap('title=name, id=sku,attributes.brand=Brand')]).toEqual([
      ['title', 'name'],
      ['id', 'sku'],
      ['attributes.brand', 'Brand'],
    ]);
    expect(parseMap(undefined).size).toBe(0);
    expect(() => parseMap('title')).toThrow(UsageError);
    expect(() => parseMap('colour=c')).toThrow(/not an item field/);
    expect(() => parseMap('attributes.=c')).toThrow(UsageError);
  });

  it('plans columns from a header naming fields, with --map taking precedence', () => {
    const plan = planColumns(
      ['sku', 'name', 'title', 'tags', 'attributes.year', 'junk'],
      parseMap('id=sku,title=name'),
    );
    // `title` is mapped from `name`, so the column literally called title is ignored.
    expect(plan.fields).toEqual(['id', 'title', undefined, 'tags', 'attributes.year', undefined]);
    expect(plan.ignored).toEqual(['title', 'junk']);
  });

  it('refuses a header without id or title, and a mapping to a missing column', () => {
    expect(() => planColumns(['id', 'name'], new Map())).toThrow(/no column for 'title'/);
    expect(() => planColumns(['id', 'title'], parseMap('title=name'))).toThrow(/column 'name'/);
  });

  it('splits list cells on the separator, trimming and dropping empties', () => {
    expect(splitList('Animation| Children ||Comedy|', '|')).toEqual(['Animation', 'Children', 'Comedy']);
    expect(splitList('a;b', ';')).toEqual(['a', 'b']);
    expect(splitList('a;b', '|')).toEqual(['a;b']);
  });

  it('coerces numbers, booleans and attribute values', () => {
    expect(toNumber('12.5')).toBe(12.5);
    expect(toNumber(' 3 ')).toBe(3);
    expect(toNumber('1e3')).toBe(1000);
    expect(toNumber('ten')).toBe('ten');
    expect(toNumber('0x10')).toBe('0x10');
    expect(toBoolean('TRUE')).toBe(true);
    expect(toBoolean('no')).toBe(false);
    expect(toBoolean('0')).toBe(false);
    expect(toBoolean('maybe')).toBe('maybe');
    expect(toAttribute('1995')).toBe(1995);
    expect(toAttribute('false')).toBe(false);
    expect(toAttribute('acme')).toBe('acme');
  });

  it('turns a row into an item record, leaving empty cells out', () => {
    const plan = planColumns(
      [
        'id',
        'title',
        'categories',
        'price',
        'available',
        'attributes.year',
        'attributes.brand',
        'description',
      ],
      new Map(),
    );
    expect(
      rowToRecord([' 7 ', 'Heat', 'Action|Crime', '9.99', 'yes', '1995', 'acme', ''], plan, '|'),
    ).toEqual({
      id: '7',
      title: 'Heat',
      categories: ['Action', 'Crime'],
      price: 9.99,
      available: true,
      attributes: { year: 1995, brand: 'acme' },
    });
    expect(rowToRecord(['8', 'X', '', '', '', '', '', ''], plan, '|')).toEqual({ id: '8', title: 'X' });
  });
});
