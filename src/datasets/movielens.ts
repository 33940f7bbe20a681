import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Item } from '../domain/item';

export interface Rating {
  userId: string;
  movieId: string;
  rating: number;
  /** Unix seconds. */
  timestamp: number;
}

/** Reads MovieLens-format movies.csv (+ tags.csv if present) as catalogue items: genres → categories, tags. */
export function readMovies(dir: string): Item[] {
  const movies = parse<{
    movieId: string;
    title: string;
    genres: string;
  }>(fs.readFileSync(path.join(dir, 'movies.csv')), {
    columns: true,
    skip_empty_lines: true,
  });
  const tagsByMovie = new Map<string, Set<string>>();
  const tagsFile = path.join(dir, 'tags.csv');
  if (fs.existsSync(tagsFile)) {
    const tags = parse<{ movieId: string; tag: string }>(fs.readFileSync(tagsFile), {
      columns: true,
      skip_empty_lines: true,
    });
    for (const t of tags) {
      const tag = t.tag.trim().slice(0, 256);
      if (!tag) continue;
      const set = tagsByMovie.get(t.movieId) ?? new Set<string>();
      set.add(tag);
      tagsByMovie.set(t.movieId, set);
    }
  }
  return movies.map((m) => {
    const genres = m.genres === '(no genres listed)' ? [] : m.genres.split('|');
    const tags = [...(tagsByMovie.get(m.movieId) ?? [])].slice(0, 50);
    const year = /\((\d{4})\)\s*$/.exec(m.title)?.[1];
    const item: Item = { id: m.movieId, title: m.title.trim(), available: true };
    if (genres.length > 0) item.categories = genres;
    if (tags.length > 0) item.tags = tags;
    if (year) item.attributes = { year: Number(year) };
    return item;
  });
}

export function readRatings(dir: string): Rating[] {
  const rows = parse<{
    userId: string;
    movieId: string;
    rating: string;
    timestamp: string;
  }>(fs.readFileSync(path.join(dir, 'ratings.csv')), {
    columns: true,
    skip_empty_lines: true,
  });
  return rows.map((r) => ({
    userId: r.userId,
    movieId: r.movieId,
    rating: Number(r.rating),
    timestamp: Number(r.timestamp),
  }));
}
