import {
  CollaborativeScorer,
  decodeCollaborative,
  encodeCollaborative,
  trainCollaborative,
  type CollaborativeParams,
} from './collaborative';
import type { Interaction } from './co-occurrence';

const params: CollaborativeParams = { minUsers: 2, maxItems: 100, lambda: 1, neighbours: 10 };

/** Two tastes: people who use a, b, c and people who use x, y, z (each person uses two of their three). */
function histories(): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < 30; i++) {
    const [p, q, r] = i % 2 === 0 ? ['a', 'b', 'c'] : ['x', 'y', 'z'];
    out.push(i % 3 === 0 ? [p, q] : i % 3 === 1 ? [q, r] : [p, r]);
  }
  return out;
}

const at = (itemId: string, ts: number, weight = 1): Interaction => ({ itemId, ts, weight });

describe('trainCollaborative', () => {
  it('learns which items the same people use, and nothing across tastes', () => {
    const model = trainCollaborative(histories(), params);
    const scorer = new CollaborativeScorer(model);
    const fromA = scorer.score([at('a', 1)]).map((s) => s.id);
    expect(fromA.sort()).toEqual(['b', 'c']);
    expect(
      scorer
        .score([at('y', 1)])
        .map((s) => s.id)
        .sort(),
    ).toEqual(['x', 'z']);
    expect(model.users).toBe(30);
  });

  it('models only items enough people used, the most used first, at most maxItems', () => {
    const h = [...histories(), ['a', 'rare'], ['b', 'c', 'a']];
    const model = trainCollaborative(h, { ...params, minUsers: 2 });
    expect(model.ids).not.toContain('rare');
    const capped = trainCollaborative(h, { ...params, maxItems: 3 });
    // a, b and c are the most used (one more history holds all three).
    expect([...capped.ids].sort()).toEqual(['a', 'b', 'c']);
  });

  it('ignores repeats and one-item histories', () => {
    const model = trainCollaborative(
      [
        ['a', 'a'],
        ['a', 'b', 'b'],
        ['a', 'b'],
      ],
      { ...params, minUsers: 1 },
    );
    expect(model.users).toBe(2);
  });
});

describe('CollaborativeScorer', () => {
  const scorer = new CollaborativeScorer(trainCollaborative(histories(), params));

  it('weighs recent items most: the newest seed decides between two tastes', () => {
    expect(scorer.score([at('x', 1), at('a', 2)])[0].id).toMatch(/^[bc]$/);
    expect(scorer.score([at('a', 1), at('x', 2)])[0].id).toMatch(/^[yz]$/);
  });

  it('does not seed from an item whose latest event is a dislike, and drops excluded items', () => {
    const disliked = scorer.score([at('a', 1), at('a', 2, -5), at('y', 3)]);
    expect(disliked.every((s) => ['x', 'z'].includes(s.id))).toBe(true);
    expect(scorer.score([at('a', 1)], (id) => id === 'b').map((s) => s.id)).toEqual(['c']);
    expect(scorer.score([at('a', 1)], undefined, 1)).toHaveLength(1);
    expect(scorer.score([at('unknown', 1)])).toEqual([]);
  });
});

describe('encodeCollaborative', () => {
  it('round-trips through its binary form, also from an unaligned buffer', () => {
    const model = trainCollaborative(histories(), params);
    const bytes = encodeCollaborative(model);
    const shifted = Buffer.concat([Buffer.from([7]), bytes]).subarray(1);
    for (const b of [bytes, shifted]) {
      const back = decodeCollaborative(b);
      expect(back.ids).toEqual(model.ids);
      expect(back.users).toBe(model.users);
      expect(Array.from(back.offsets)).toEqual(Array.from(model.offsets));
      expect(Array.from(back.cols)).toEqual(Array.from(model.cols));
      expect(Array.from(back.weights)).toEqual(Array.from(model.weights));
    }
    expect(() => decodeCollaborative(Buffer.from('nope, not a model'))).toThrow(/not a collaborative model/);
    expect(() => decodeCollaborative(bytes.subarray(0, bytes.length - 4))).toThrow(/truncated/);
  });
});
