import { blameBatch, checkJsonLine, checkRecord, formatFailures } from './validate';

describe('line validation', () => {
  it('accepts a valid record and applies schema defaults', () => {
    expect(checkRecord({ id: 'a', title: ' A ' }, 3)).toEqual({
      ok: true,
      line: 3,
      item: { id: 'a', title: 'A', available: true },
    });
  });

  it('names each bad field, and a missing one as "is required"', () => {
    expect(checkRecord({ id: 'a' }, 17)).toEqual({ ok: false, line: 17, reason: 'title: is required' });
    const r = checkRecord({ id: 'has space', title: 't', price: -1, colour: 'red' }, 2);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toMatch(/^id: must be 1-256 characters/);
      expect(r.reason).toMatch(/price: Too small/);
      expect(r.reason).toMatch(/colour/);
    }
    expect(checkRecord([1], 4)).toEqual({ ok: false, line: 4, reason: 'not a JSON object' });
    expect(checkRecord(null, 5)).toEqual({ ok: false, line: 5, reason: 'not a JSON object' });
  });

  it('skips blank JSON lines and reports bad JSON with its line', () => {
    expect(checkJsonLine('   ', 1)).toBeUndefined();
    expect(checkJsonLine('', 1)).toBeUndefined();
    const bad = checkJsonLine('{"id": "a", ', 9);
    expect(bad).toMatchObject({ ok: false, line: 9 });
    expect(bad?.ok === false && bad.reason).toMatch(/^invalid JSON/);
    expect(checkJsonLine('{"id":"a","title":"t"}', 2)).toMatchObject({ ok: true, line: 2 });
  });

  it('maps a 400 batch error back to file lines and keeps the rest for a retry', () => {
    const lines = [10, 11, 14, 20];
    const blamed = blameBatch(lines, [
      { path: 'items.2.title', message: 'is required' },
      { path: 'items.2.price', message: 'too small' },
      { path: 'items.0', message: 'bad item' },
      { path: 'items.9.title', message: 'out of range' },
      { path: 'catalogue', message: 'ignored' },
    ]);
    expect(blamed).toEqual({
      failures: [
        { line: 10, reason: 'bad item' },
        { line: 14, reason: 'title: is required; price: too small' },
      ],
      rest: [1, 3],
    });
    expect(blameBatch(lines, [{ path: '(body)', message: 'x' }])).toBeUndefined();
  });

  it('formats failures in line order', () => {
    expect(
      formatFailures([
        { line: 30, reason: 'b' },
        { line: 4, reason: 'a' },
      ]),
    ).toEqual(['line 4: a', 'line 30: b']);
  });
});
