import { readFile } from 'node:fs/promises';
import * as path from 'node:path';

export type VocabEntry = [string, number | null];

// Reserved ids 0..5 are never matched by the reference; full-width names cannot survive NFKC, so they never match here.
export const RESERVED_NAMES = [
  '＜unk＞',
  '＜s＞',
  '＜/s＞',
  '＜extra_token_id_1＞',
  '＜extra_token_id_2＞',
  '＜extra_token_id_3＞',
];

// The reference's Viterbi treats a best score of exactly 0 as unset, so `):` (null score) must lose ties it would win.
const SCORE_NUDGES: Record<string, number> = { '):': -1e-9 };

export async function readVocab(distDir: string): Promise<VocabEntry[]> {
  return JSON.parse(await readFile(path.join(distDir, 'vocab.json'), 'utf8')) as VocabEntry[];
}

export function unigramVocab(vocab: VocabEntry[]): [string, number][] {
  return vocab.map(([piece, score], id): [string, number] => {
    if (id < RESERVED_NAMES.length) return [RESERVED_NAMES[id], 0];
    return [piece, (score ?? 0) + (SCORE_NUDGES[piece] ?? 0)];
  });
}

export function tokenizerJson(vocab: VocabEntry[]): object {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'NFKC' },
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    // The reference never lets a text-initial `▁` join a following `:` piece (those pieces score 0 = unset).
    pre_tokenizer: { type: 'Split', pattern: { Regex: '\\A▁(?=:)' }, behavior: 'Isolated', invert: false },
    post_processor: null,
    decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: false },
    model: { type: 'Unigram', unk_id: 0, vocab: unigramVocab(vocab), byte_fallback: false },
  };
}

export const SPECIAL_TOKENS = {
  unk_token: RESERVED_NAMES[0],
  pad_token: RESERVED_NAMES[0],
  bos_token: RESERVED_NAMES[1],
  eos_token: RESERVED_NAMES[2],
};

export function tokenizerConfig(maxLen: number): object {
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    model_max_length: maxLen,
    padding_side: 'right',
    truncation_side: 'right',
    ...SPECIAL_TOKENS,
    clean_up_tokenization_spaces: false,
    model_input_names: ['input_ids', 'attention_mask'],
    added_tokens_decoder: {},
  };
}
