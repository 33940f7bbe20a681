import { RESERVED_NAMES, unigramVocab, VocabEntry } from './tokenizer-json';

describe('unigramVocab', () => {
  const vocab: VocabEntry[] = [
    ['\uFFFD', 0],
    ['<s>', 0],
    ['</s>', 0],
    ['extra_token_id_1', 0],
    ['extra_token_id_2', 0],
    ['extra_token_id_3', 0],
    ['.', -3.28],
    [':', null],
    ['):', null],
    ['”5', -7.5],
    ['”5', -10.4],
  ];
  const out = unigramVocab(vocab);

  it('keeps every id in place, duplicates included', () => {
    expect(out.map(([p]) => p).slice(6)).toEqual(['.', ':', '):', '”5', '”5']);
    expect(out).toHaveLength(vocab.length);
  });

  it('renames reserved ids to full-width forms that NFKC-normalised text can never contain', () => {
    expect(out.slice(0, 6)).toEqual(RESERVED_NAMES.map((n) => [n, 0]));
    for (const name of RESERVED_NAMES) expect(name.normalize('NFKC')).not.toBe(name);
  });

  it('counts null scores as 0 and nudges `):` just below 0', () => {
    expect(out[7]).toEqual([':', 0]);
    expect(out[8]).toEqual(['):', -1e-9]);
    expect(out[6]).toEqual(['.', -3.28]);
  });
});
