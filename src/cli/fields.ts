// Pure CSV-to-item mapping: which column feeds which item field, and how a cell becomes a value.
import type { AttributeValue } from '../domain/item';

export const ITEM_FIELDS = [
  'id',
  'title',
  'description',
  'categories',
  'tags',
  'price',
  'available',
  'imageUrl',
  'createdAt',
] as const;
export type ItemField = (typeof ITEM_FIELDS)[number];

const LIST_FIELDS = new Set<string>(['categories', 'tags']);
const ATTRIBUTE_PREFIX = 'attributes.';

export class UsageError extends Error {}

/** `title=name,id=sku` → Map(field → file column). */
export function parseMap(spec: string | undefined): Map<string, string> {
  const map = new Map<string, string>();
  if (!spec) return map;
  for (const pair of spec.split(',')) {
    if (!pair.trim()) continue;
    const eq = pair.indexOf('=');
    const field = pair.slice(0, eq).trim();
    const column = pair.slice(eq + 1).trim();
    if (eq < 0 || !field || !column) throw new UsageError(`--map: '${pair}' is not field=column`);
    if (!isTargetField(field)) {
      throw new UsageError(
        `--map: '${field}' is not an item field (${ITEM_FIELDS.join(', ')}, attributes.<name>)`,
      );
    }
    map.set(field, column);
  }
  return map;
}

export function isTargetField(name: string): boolean {
  return (
    (ITEM_FIELDS as readonly string[]).includes(name) ||
    (name.startsWith(ATTRIBUTE_PREFIX) && name.length > ATTRIBUTE_PREFIX.length)
  );
}

export interface ColumnPlan {
  /** Item field per column index; undefined means the column is ignored. */
  fields: (string | undefined)[];
  ignored: string[];
}

/** Decides which header column feeds which field: `--map` first, else a column named like a field. */
export function planColumns(header: string[], map: Map<string, string>): ColumnPlan {
  const byColumn = new Map<string, string>();
  for (const [field, column] of map) {
    if (!header.includes(column)) {
      throw new UsageError(
        `--map: column '${column}' (for ${field}) is not in the header: ${header.join(', ')}`,
      );
    }
    byColumn.set(column, field);
  }
  const mappedFields = new Set(map.keys());
  const ignored: string[] = [];
  const fields = header.map((column) => {
    const mapped = byColumn.get(column);
    if (mapped) return mapped;
    if (isTargetField(column) && !mappedFields.has(column)) return column;
    ignored.push(column);
    return undefined;
  });
  for (const required of ['id', 'title']) {
    if (!fields.includes(required)) {
      throw new UsageError(
        `no column for '${required}': name it in the header or use --map ${required}=<column>`,
      );
    }
  }
  return { fields, ignored };
}

/** Splits a list cell on the separator, trimming and dropping empty parts. */
export function splitList(cell: string, separator: string): string[] {
  return cell
    .split(separator)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A number if the cell is numeric, else the text unchanged (so validation names the field). */
export function toNumber(cell: string): number | string {
  const t = cell.trim();
  return NUMBER.test(t) ? Number(t) : cell;
}

const TRUE = new Set(['true', 'yes', '1']);
const FALSE = new Set(['false', 'no', '0']);

/** true/false/yes/no/1/0 (any case) as a boolean, else the text unchanged. */
export function toBoolean(cell: string): boolean | string {
  const t = cell.trim().toLowerCase();
  if (TRUE.has(t)) return true;
  if (FALSE.has(t)) return false;
  return cell;
}

/** Attribute cells: numeric → number, true/false → boolean, else the string. */
export function toAttribute(cell: string): AttributeValue {
  const t = cell.trim().toLowerCase();
  if (t === 'true') return true;
  if (t === 'false') return false;
  return toNumber(cell);
}

/** One CSV row as an unvalidated item object; empty cells are left out. */
export function rowToRecord(row: string[], plan: ColumnPlan, listSeparator: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let attributes: Record<string, AttributeValue> | undefined;
  plan.fields.forEach((field, i) => {
    const cell = row[i];
    if (field === undefined || cell === undefined || cell.trim() === '') return;
    if (field.startsWith(ATTRIBUTE_PREFIX)) {
      attributes ??= {};
      attributes[field.slice(ATTRIBUTE_PREFIX.length)] = toAttribute(cell);
    } else if (LIST_FIELDS.has(field)) out[field] = splitList(cell, listSeparator);
    else if (field === 'price') out[field] = toNumber(cell);
    else if (field === 'available') out[field] = toBoolean(cell);
    else if (field === 'id') out[field] = cell.trim();
    else out[field] = cell;
  });
  if (attributes) out.attributes = attributes;
  return out;
}
