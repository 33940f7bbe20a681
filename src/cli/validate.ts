// Pure line-level validation and mapping of server errors back to file lines.
import type { z } from 'zod';
import type { Item } from '../domain/item';
import { itemSchema } from '../domain/item.schema';

export interface LineFailure {
  line: number;
  reason: string;
}

export type Checked = { ok: true; line: number; item: Item } | { ok: false; line: number; reason: string };

/** `title: is required; price: ...` — a missing field reads as "is required" rather than a type error. */
export function describeIssues(error: z.ZodError, record?: unknown): string {
  return error.issues
    .map((issue) => {
      if (issue.path.length === 0) return issue.message;
      const missing = issue.code === 'invalid_type' && valueAt(record, issue.path) === undefined;
      return `${issue.path.map(String).join('.')}: ${missing ? 'is required' : issue.message}`;
    })
    .join('; ');
}

function valueAt(record: unknown, path: PropertyKey[]): unknown {
  let v: unknown = record;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** Validates one parsed record with the service's own schema, so a bad line never reaches a batch. */
export function checkRecord(record: unknown, line: number): Checked {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    return { ok: false, line, reason: 'not a JSON object' };
  }
  const parsed = itemSchema.safeParse(record);
  if (!parsed.success) return { ok: false, line, reason: describeIssues(parsed.error, record) };
  return { ok: true, line, item: parsed.data };
}

/** One JSON Lines line: undefined for a blank line, else the checked record. */
export function checkJsonLine(text: string, line: number): Checked | undefined {
  if (text.trim() === '') return undefined;
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch (e) {
    return { ok: false, line, reason: `invalid JSON: ${(e as Error).message}` };
  }
  return checkRecord(record, line);
}

/**
 * Maps a 400's `items.N.field` errors to the batch's line numbers. Returns the failures and the indexes of
 * the batch entries that were not blamed (to retry), or undefined if no error named an item.
 */
export function blameBatch(
  lines: number[],
  errors: { path?: unknown; message?: unknown }[],
): { failures: LineFailure[]; rest: number[] } | undefined {
  const reasons = new Map<number, string[]>();
  for (const e of errors) {
    const m = /^items\.(\d+)(?:\.(.*))?$/.exec(typeof e.path === 'string' ? e.path : '');
    if (!m) continue;
    const index = Number(m[1]);
    if (index >= lines.length) continue;
    const reason = m[2] ? `${m[2]}: ${String(e.message)}` : String(e.message);
    reasons.set(index, [...(reasons.get(index) ?? []), reason]);
  }
  if (reasons.size === 0) return undefined;
  const failures = [...reasons]
    .map(([index, r]) => ({ line: lines[index], reason: r.join('; ') }))
    .sort((a, b) => a.line - b.line);
  const rest = lines.map((_, i) => i).filter((i) => !reasons.has(i));
  return { failures, rest };
}

export function formatFailures(failures: LineFailure[]): string[] {
  return [...failures].sort((a, b) => a.line - b.line).map((f) => `line ${f.line}: ${f.reason}`);
}
