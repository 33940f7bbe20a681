import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { HnswIndex, type HnswLabels } from './hnsw-index';
import type { CatalogueIndex } from './index-registry';

export interface SnapshotManifest {
  version: 1;
  catalogue: string;
  generation: number;
  model: string;
  dimension: number;
  /** Last index-change stream entry the snapshot includes; replay starts after it. */
  streamOffset: string;
  indexFile: string;
  size: number;
  createdAt: string;
  labels: HnswLabels;
}

const MANIFEST = 'manifest.json';
/** Suffix of the int8-copy file beside each hnswlib file. */
const QUANTISED = '.q8';
const STALE_FILE_MS = 10 * 60_000;

/** On-disk index snapshots per catalogue: an hnswlib file plus a manifest (id map, stream offset), each renamed into place. */
@Injectable()
export class SnapshotStore {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  private dir(catalogue: string): string {
    return path.join(this.config.INDEX_DIR_ABS, catalogue);
  }

  /**
   * Writes the snapshot off the event loop (requests go on being served); the index must not change until the
   * promise settles (HnswIndex.save throws on a change meanwhile).
   */
  async write(entry: CatalogueIndex, streamOffset: string): Promise<SnapshotManifest> {
    const dir = this.dir(entry.catalogue);
    await fs.promises.mkdir(dir, { recursive: true });
    const indexFile = `gen-${entry.generation}-${randomUUID().slice(0, 8)}.hnsw`;
    const tmpIndex = path.join(dir, `${indexFile}.tmp`);
    const size = entry.index.size;
    const labels = await entry.index.save(tmpIndex);
    // The int8 copies for MMR go beside it, so a restarted replica does not rebuild them request by request.
    const tmpQuantised = path.join(dir, `${indexFile}${QUANTISED}.tmp`);
    await entry.index.saveQuantised(tmpQuantised);
    await fs.promises.rename(tmpQuantised, path.join(dir, `${indexFile}${QUANTISED}`));
    await fs.promises.rename(tmpIndex, path.join(dir, indexFile));
    const manifest: SnapshotManifest = {
      version: 1,
      catalogue: entry.catalogue,
      generation: entry.generation,
      model: entry.model,
      dimension: entry.index.dimension,
      streamOffset,
      indexFile,
      size,
      createdAt: new Date().toISOString(),
      labels,
    };
    const tmpManifest = path.join(dir, `${MANIFEST}.${process.pid}.tmp`);
    await fs.promises.writeFile(tmpManifest, JSON.stringify(manifest));
    await fs.promises.rename(tmpManifest, path.join(dir, MANIFEST));
    await this.removeUnreferenced(dir, indexFile);
    return manifest;
  }

  /** The catalogue's snapshot, or undefined if there is none; throws (with the reason) if it is unusable. */
  read(catalogue: string): SnapshotManifest | undefined {
    const file = path.join(this.dir(catalogue), MANIFEST);
    if (!fs.existsSync(file)) return undefined;
    const manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as SnapshotManifest;
    if (manifest.version !== 1 || manifest.catalogue !== catalogue || !Array.isArray(manifest.labels?.ids)) {
      throw new Error('manifest is not a snapshot of this catalogue');
    }
    if (!fs.existsSync(path.join(this.dir(catalogue), manifest.indexFile)))
      throw new Error(`${manifest.indexFile} is missing`);
    return manifest;
  }

  load(
    manifest: SnapshotManifest,
    params: { m: number; efConstruction: number; efSearch: number },
  ): HnswIndex {
    const file = path.join(this.dir(manifest.catalogue), manifest.indexFile);
    const index = HnswIndex.load(manifest.dimension, params, file, manifest.labels, `${file}${QUANTISED}`);
    if (index.size !== manifest.size)
      throw new Error(`index holds ${index.size} items, manifest says ${manifest.size}`);
    return index;
  }

  remove(catalogue: string): void {
    fs.rmSync(this.dir(catalogue), { recursive: true, force: true });
  }

  // Another replica may have just written a manifest naming its own file: only old orphans go. Off the event loop
  // like the write; the manifest (the whole id map) is read at most once per pass.
  private async removeUnreferenced(dir: string, keep: string): Promise<void> {
    const now = Date.now();
    let referenced: Promise<string | undefined> | undefined;
    for (const f of await fs.promises.readdir(dir)) {
      if (f === MANIFEST || !/\.hnsw(\.q8)?(\.tmp)?$|\.tmp$/.test(f)) continue;
      // An hnswlib file and its int8 copies belong to one snapshot, named by the hnswlib file.
      const snapshot = f.endsWith(QUANTISED) ? f.slice(0, -QUANTISED.length) : f;
      if (snapshot === keep) continue;
      const full = path.join(dir, f);
      // A finished file (not .tmp) goes at once unless the manifest names its snapshot; a .tmp only once it is old.
      const finished = snapshot.endsWith('.hnsw');
      try {
        if (finished || now - (await fs.promises.stat(full)).mtimeMs > STALE_FILE_MS) {
          if (finished && (await (referenced ??= this.referenced(dir))) === snapshot) continue;
          await fs.promises.rm(full, { force: true });
        }
      } catch {
        // Removed concurrently: nothing to do.
      }
    }
  }

  private async referenced(dir: string): Promise<string | undefined> {
    try {
      const raw = await fs.promises.readFile(path.join(dir, MANIFEST), 'utf8');
      return (JSON.parse(raw) as SnapshotManifest).indexFile;
    } catch {
      return undefined;
    }
  }
}
