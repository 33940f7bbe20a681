import { lengthBuckets } from './transformers-embedder';

describe('lengthBuckets', () => {
  it('keeps every index once, groups similar lengths, and keeps equal lengths together', () => {
    const texts = [
      'a'.repeat(200),
      'b',
      'c'.repeat(10),
      'd'.repeat(190),
      'e'.repeat(11),
      'f'.repeat(12),
      'g',
      'h',
      'i'.repeat(9),
    ];
    const buckets = lengthBuckets(texts);
    expect(buckets.flat().sort((x, y) => x - y)).toEqual(texts.map((_, i) => i));
    const longOnes = buckets.find((b) => b.includes(0))!;
    expect(longOnes).toContain(3);
    expect(longOnes).not.toContain(1);
    const same = Array.from({ length: 40 }, () => 'same length text');
    expect(lengthBuckets(same)).toHaveLength(1);
    expect(lengthBuckets([])).toEqual([]);
  });
});
