import type { AttributeValue, Item } from '../item';
import type { AttributeFilter, Condition, Filters, HideRule, PinRule, Rule } from './ranking-config.schema';

type Scalar = string | number | boolean;
type FieldValue = AttributeValue | readonly string[] | undefined;

/** The value a condition's field path points at on an item (`attributes.x` reads one attribute). */
export function fieldValue(item: Item, field: string): FieldValue {
  if (field.startsWith('attributes.')) return item.attributes?.[field.slice('attributes.'.length)];
  switch (field) {
    case 'categories':
      return item.categories ?? [];
    case 'tags':
      return item.tags ?? [];
    case 'price':
      return item.price;
    case 'available':
      return item.available;
    case 'title':
      return item.title;
    case 'id':
      return item.id;
    case 'createdAt':
      return item.createdAt;
    default:
      return undefined;
  }
}

// Dates compare as instants, everything else by its own type; mixed types never compare.
function compare(a: Scalar, b: Scalar, field: string): number | undefined {
  if (field === 'createdAt' && typeof a === 'string' && typeof b === 'string') {
    const ta = Date.parse(a);
    const tb = Date.parse(b);
    return Number.isNaN(ta) || Number.isNaN(tb) ? undefined : ta - tb;
  }
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return undefined;
}

function matchesScalar(v: Scalar, cond: Condition): boolean {
  const f = cond.field;
  if (cond.eq !== undefined) return v === cond.eq;
  if (cond.ne !== undefined) return v !== cond.ne;
  if (cond.in !== undefined) return cond.in.includes(v);
  if (cond.contains !== undefined) {
    // Substring on text is what merchandisers mean by "title contains sale"; case-insensitive for the same reason.
    if (typeof v === 'string' && typeof cond.contains === 'string') {
      return v.toLowerCase().includes(cond.contains.toLowerCase());
    }
    return v === cond.contains;
  }
  // The first range bound present decides (the schema allows one operator per condition).
  let c: number | undefined;
  if (cond.gt !== undefined) return (c = compare(v, cond.gt, f)) !== undefined && c > 0;
  if (cond.gte !== undefined) return (c = compare(v, cond.gte, f)) !== undefined && c >= 0;
  if (cond.lt !== undefined) return (c = compare(v, cond.lt, f)) !== undefined && c < 0;
  if (cond.lte !== undefined) return (c = compare(v, cond.lte, f)) !== undefined && c <= 0;
  return false;
}

/** Whether an item satisfies a condition; on list fields eq/contains/in test membership and ne non-membership. */
export function matchesCondition(item: Item, cond: Condition): boolean {
  const v = fieldValue(item, cond.field);
  if (Array.isArray(v)) {
    const list = v as readonly Scalar[];
    if (cond.eq !== undefined) return list.includes(cond.eq);
    if (cond.contains !== undefined) return list.includes(cond.contains);
    if (cond.in !== undefined) {
      for (let i = 0; i < cond.in.length; i++) if (list.includes(cond.in[i])) return true;
      return false;
    }
    if (cond.ne !== undefined) return !list.includes(cond.ne);
    return false;
  }
  // A missing field fails every test except "is not X".
  if (v === undefined) return cond.ne !== undefined;
  return matchesScalar(v as Scalar, cond);
}

function attributeCondition(name: string, f: AttributeFilter): Condition[] {
  const field = `attributes.${name}`;
  const out: Condition[] = [];
  for (const op of ['eq', 'ne', 'in', 'contains', 'gt', 'gte', 'lt', 'lte'] as const) {
    if (f[op] !== undefined) out.push({ field, [op]: f[op] });
  }
  return out;
}

function includesAny(have: readonly string[], wanted: readonly string[]): boolean {
  for (let i = 0; i < wanted.length; i++) if (have.includes(wanted[i])) return true;
  return false;
}

function setMatches(values: readonly string[] | undefined, f: Filters['categories']): boolean {
  if (!f) return true;
  const have = values ?? [];
  if (f.any && !includesAny(have, f.any)) return false;
  if (f.all) for (let i = 0; i < f.all.length; i++) if (!have.includes(f.all[i])) return false;
  if (f.none && includesAny(have, f.none)) return false;
  return true;
}

type ItemTest = (item: Item) => boolean;

// Called for every candidate of every request: plain loops, so a check allocates nothing.
function allOf(tests: readonly ItemTest[]): ItemTest {
  if (tests.length === 1) return tests[0];
  return (item) => {
    for (let i = 0; i < tests.length; i++) if (!tests[i](item)) return false;
    return true;
  };
}

function compileOne(f: Filters): ItemTest | undefined {
  const tests: ItemTest[] = [];
  if (f.available !== undefined) tests.push((item) => item.available === f.available);
  const p = f.price;
  if (p && (p.gt ?? p.gte ?? p.lt ?? p.lte) !== undefined) {
    tests.push((item) => {
      const v = item.price;
      if (v === undefined) return false;
      return (
        (p.gt === undefined || v > p.gt) &&
        (p.gte === undefined || v >= p.gte) &&
        (p.lt === undefined || v < p.lt) &&
        (p.lte === undefined || v <= p.lte)
      );
    });
  }
  if (f.categories) tests.push((item) => setMatches(item.categories, f.categories));
  if (f.tags) tests.push((item) => setMatches(item.tags, f.tags));
  for (const [name, af] of Object.entries(f.attributes ?? {})) {
    for (const c of attributeCondition(name, af)) tests.push((item) => matchesCondition(item, c));
  }
  return tests.length === 0 ? undefined : allOf(tests);
}

/** One predicate that is the AND of every given filter set (config filters and request filters). */
export function compileFilters(...filters: (Filters | undefined)[]): (item: Item) => boolean {
  const tests = filters.flatMap((f) => {
    const t = f ? compileOne(f) : undefined;
    return t ? [t] : [];
  });
  return tests.length === 0 ? () => true : allOf(tests);
}

/** True when the filters constrain nothing, so callers can skip the selective-filter path entirely. */
export function isEmptyFilters(...filters: (Filters | undefined)[]): boolean {
  return filters.every((f) => !f || compileOne(f) === undefined);
}

/** A rule applies at `now` when from <= now < until (either bound optional). */
export function isRuleActive(rule: { from?: string; until?: string }, now: number): boolean {
  if (rule.from !== undefined && now < Date.parse(rule.from)) return false;
  if (rule.until !== undefined && now >= Date.parse(rule.until)) return false;
  return true;
}

export const isPinRule = (r: Rule): r is PinRule => 'pin' in r && typeof r.pin === 'string';
export const isHideRule = (r: Rule): r is HideRule => 'hide' in r && r.hide !== undefined;

/** Predicate for "some active hide rule matches this item". */
export function compileHides(rules: readonly Rule[], now: number): (item: Item) => boolean {
  const active = rules.filter(isHideRule).filter((r) => isRuleActive(r, now));
  if (active.length === 0) return () => false;
  return (item) => {
    for (let i = 0; i < active.length; i++) if (matchesCondition(item, active[i].hide)) return true;
    return false;
  };
}
