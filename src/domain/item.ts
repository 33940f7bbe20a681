// Catalogue items as stored and served. Pure types: no framework imports in src/domain.
export type AttributeValue = string | number | boolean;

export interface Item {
  id: string;
  title: string;
  description?: string;
  categories?: string[];
  tags?: string[];
  attributes?: Record<string, AttributeValue>;
  price?: number;
  available: boolean;
  imageUrl?: string;
  /** ISO-8601 */
  createdAt?: string;
}

export const ITEM_ID_PATTERN = /^[A-Za-z0-9._:-]{1,256}$/;
export const CATALOGUE_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export type IndexState = 'pending' | 'indexed';

/** The default text an item is embedded from; a catalogue may override it with a template. */
export const DEFAULT_TEXT_TEMPLATE = '{title}. {categories}. {tags}. {description}';

/** Renders `{field}` placeholders; list fields are joined with ", "; empty parts and their separators vanish. */
export function itemText(item: Item, template: string = DEFAULT_TEXT_TEMPLATE): string {
  const value = (field: string): string => {
    const v: unknown = field.startsWith('attributes.')
      ? item.attributes?.[field.slice('attributes.'.length)]
      : (item as unknown as Record<string, unknown>)[field];
    if (Array.isArray(v)) return v.join(', ');
    if (v === undefined || v === null) return '';
    return (typeof v === 'string' ? v : JSON.stringify(v)).trim();
  };
  const rendered = template.replace(/\{([A-Za-z0-9_.]+)\}/g, (_, f: string) => value(f));
  // Collapse separators left by empty fields ("Title. . ." → "Title.").
  return rendered
    .replace(/(\s*[.,;:|-]\s*)+(?=[.,;:|-]|$)/g, '')
    .replace(/^\s*[.,;:|-]\s*/, '')
    .replace(/\s+/g, ' ')
    .trim();
}
