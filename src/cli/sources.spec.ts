import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError } from './fields';
import { detectFormat, openSource } from './sources';
import type { Checked } from './validate';

describe('file sources', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recsvc-cli-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const read = async (name: string, text: string, map = new Map<string, string>()) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    const source = openSource(file, { map, listSeparator: '|' });
    const out: Checked[] = [];
    for await (const c of source.records) out.push(c);
    return { out, bytes: source.bytesRead(), size: source.size };
  };
  const summary = (out: Checked[]) =>
    out.map((c) => (c.ok ? `${c.line}:ok:${c.item.id}` : `${c.line}:${c.reason}`));

  it('detects the format from the extension or --format', () => {
    expect(detectFormat('a.jsonl')).toBe('jsonl');
    expect(detectFormat('a.NDJSON')).toBe('jsonl');
    expect(detectFormat('a.json')).toBe('jsonl');
    expect(detectFormat('a.csv')).toBe('csv');
    expect(detectFormat('a.txt', 'csv')).toBe('csv');
    expect(() => detectFormat('a.txt')).toThrow(UsageError);
    expect(() => detectFormat('a.csv', 'xml')).toThrow(UsageError);
  });

  it('reads JSON Lines with blank lines, bad JSON and CRLF, numbering every physical line', async () => {
    const { out, bytes, size } = await read(
      'a.jsonl',
      '\uFEFF{"id":"1","title":"A"}\r\n\r\n{oops\n{"id":"2"}\n   \n{"id":"3","title":"C","tags":["x"]}\n',
    );
    expect(summary(out)).toEqual([
      '1:ok:1',
      expect.stringMatching(/^3:invalid JSON/),
      '4:title: is required',
      '6:ok:3',
    ]);
    expect(bytes).toBe(size);
  });

  it('reads CSV by header, with lists, coercion, quoted multi-line cells and short rows', async () => {
    const { out } = await read(
      'a.csv',
      'sku,name,categories,price,attributes.year\n' +
        '1,Toy Story,Animation|Children,3,1995\n' +
        '2,,Drama,1,1990\n' +
        '\n' +
        '3,"Two\nlines",Drama,x,2000\n' +
        '4,"Quoted, comma",Drama,2.5,2001\n' +
        '5,Short\n',
      new Map([
        ['id', 'sku'],
        ['title', 'name'],
      ]),
    );
    expect(summary(out)).toEqual([
      '2:ok:1',
      '3:title: is required',
      expect.stringMatching(/^5:price: /),
      '7:ok:4',
      '8:has 2 columns, the header has 5',
    ]);
    const first = out[0];
    expect(first.ok && first.item).toEqual({
      id: '1',
      title: 'Toy Story',
      categories: ['Animation', 'Children'],
      price: 3,
      available: true,
      attributes: { year: 1995 },
    });
  });

  it('fails a CSV whose header names no id or title as a usage error', async () => {
    await expect(read('b.csv', 'foo,bar\n1,2\n')).rejects.toThrow(/no column for 'id'/);
    await expect(read('c.csv', '')).rejects.toThrow(/empty/);
  });

  it('fails a missing file as a usage error', () => {
    expect(() => openSource(path.join(dir, 'nope.csv'), { map: new Map(), listSeparator: '|' })).toThrow(
      UsageError,
    );
  });
});
