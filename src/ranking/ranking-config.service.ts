import {
  BadRequestException,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type Redis from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../config/config';
import {
  DEFAULT_RANKING_CONFIG,
  parseExperiment,
  parseRankingConfig,
  type Experiment,
  type RankingConfig,
} from '../domain/ranking';
import { createRedis } from '../redis/redis-connection';
import {
  RankingConfigRepository,
  type ConfigChange,
  type StoredConfigVersion,
} from './ranking-config.repository';

export const DEFAULT_CONFIG_NAME = 'default';

export interface ResolvedConfig {
  name: string;
  /** 0 for the built-in default that was never overridden. */
  version: number;
  config: RankingConfig;
}

export interface ConfigView {
  name: string;
  version: number;
  builtIn: boolean;
  config: RankingConfig;
  createdAt?: string;
  /** Set when the current version was made by a rollback to this version. */
  rollbackOf?: number;
  history: StoredConfigVersion[];
}

const configKey = (c: string, name: string): string => `config\u0000${c}\u0000${name}`;
const experimentKey = (c: string, name: string): string => `experiment\u0000${c}\u0000${name}`;

/** Ranking configs and experiments: validated writes, per-replica cache dropped by pub/sub on every change. */
@Injectable()
export class RankingConfigService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(RankingConfigService.name);
  private readonly configs = new Map<string, ResolvedConfig | null>();
  private readonly experiments = new Map<string, Experiment | null>();
  private subscriber?: Redis;
  /** Only cache while subscribed: a missed message must not leave a stale config behind. */
  private live = false;
  /** Bumped on every invalidation, so a load that raced one does not cache what it read. */
  private epoch = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly appConfig: AppConfig,
    private readonly repo: RankingConfigRepository,
  ) {}

  async onModuleInit(): Promise<void> {
    const sub = createRedis(this.appConfig.REDIS_URL, this.logger, { name: 'config-sub' });
    this.subscriber = sub;
    sub.on('message', (_channel: string, message: string) => this.onChange(message));
    sub.on('ready', () => {
      // (Re)connected: anything could have changed while we were away.
      this.clear();
      this.live = true;
    });
    sub.on('close', () => {
      this.live = false;
      this.clear();
    });
    await sub.subscribe(this.repo.channel);
    this.clear();
    this.live = true;
  }

  async onApplicationShutdown(): Promise<void> {
    this.live = false;
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }

  /** The current version of a config; the built-in default when `default` was never stored; 404 otherwise. */
  async resolve(c: string, name: string): Promise<ResolvedConfig> {
    const key = configKey(c, name);
    let found = this.configs.get(key);
    if (found === undefined) {
      const epoch = this.epoch;
      const stored = await this.repo.current(c, name);
      found = stored ? this.toResolved(name, stored) : name === DEFAULT_CONFIG_NAME ? builtIn() : null;
      if (this.live && epoch === this.epoch) this.configs.set(key, found);
    }
    if (!found) throw new NotFoundException(`Ranking config '${name}' not found in catalogue '${c}'`);
    return found;
  }

  /** A specific version (0 = built-in default); 404 when absent. */
  async resolveVersion(c: string, name: string, version: number): Promise<ResolvedConfig> {
    if (version === 0 && name === DEFAULT_CONFIG_NAME) return builtIn();
    const stored = await this.repo.version(c, name, version);
    if (!stored) throw new NotFoundException(`Ranking config '${name}' has no version ${version}`);
    return this.toResolved(name, stored);
  }

  async view(c: string, name: string): Promise<ConfigView> {
    const history = await this.repo.history(c, name);
    const current = await this.repo.current(c, name);
    if (!current) {
      if (name !== DEFAULT_CONFIG_NAME) {
        throw new NotFoundException(`Ranking config '${name}' not found in catalogue '${c}'`);
      }
      return { name, version: 0, builtIn: true, config: DEFAULT_RANKING_CONFIG, history };
    }
    const resolved = this.toResolved(name, current);
    return {
      name,
      version: resolved.version,
      builtIn: false,
      config: resolved.config,
      createdAt: current.createdAt,
      ...(current.rollbackOf !== undefined ? { rollbackOf: current.rollbackOf } : {}),
      history,
    };
  }

  async list(c: string): Promise<{ name: string; version: number }[]> {
    const names = await this.repo.names(c);
    if (names[DEFAULT_CONFIG_NAME] === undefined) names[DEFAULT_CONFIG_NAME] = 0;
    return Object.entries(names)
      .map(([name, version]) => ({ name, version }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Validates (every error listed) and stores a new version. */
  async put(c: string, name: string, body: unknown): Promise<ConfigView> {
    const parsed = parseRankingConfig(body);
    if (!parsed.ok) {
      throw new BadRequestException({ message: 'Invalid ranking config', errors: parsed.errors });
    }
    const stored = await this.repo.append(c, name, body);
    this.invalidate(configKey(c, name));
    return {
      name,
      version: stored.version,
      builtIn: false,
      config: parsed.config,
      createdAt: stored.createdAt,
      history: [],
    };
  }

  /** Appends a new version equal to `version`, so history stays linear and the rollback itself is visible. */
  async rollback(c: string, name: string, version: number): Promise<ConfigView> {
    let body: unknown;
    if (version === 0 && name === DEFAULT_CONFIG_NAME) body = {};
    else {
      const old = await this.repo.version(c, name, version);
      if (!old) throw new NotFoundException(`Ranking config '${name}' has no version ${version}`);
      body = old.config;
    }
    const stored = await this.repo.append(c, name, body, version);
    this.invalidate(configKey(c, name));
    return {
      name,
      version: stored.version,
      builtIn: false,
      config: this.toResolved(name, stored).config,
      createdAt: stored.createdAt,
      rollbackOf: version,
      history: [],
    };
  }

  async experiment(c: string, name: string): Promise<Experiment> {
    const key = experimentKey(c, name);
    let found = this.experiments.get(key);
    if (found === undefined) {
      const epoch = this.epoch;
      const stored = await this.repo.experiment(c, name);
      const parsed = stored ? parseExperiment(stored.experiment) : undefined;
      found = parsed?.ok ? parsed.experiment : null;
      if (this.live && epoch === this.epoch) this.experiments.set(key, found);
    }
    if (!found) throw new NotFoundException(`Experiment '${name}' not found in catalogue '${c}'`);
    return found;
  }

  async experimentView(c: string, name: string): Promise<{ name: string; updatedAt: string } & Experiment> {
    const stored = await this.repo.experiment(c, name);
    const parsed = stored ? parseExperiment(stored.experiment) : undefined;
    if (!stored || !parsed?.ok)
      throw new NotFoundException(`Experiment '${name}' not found in catalogue '${c}'`);
    return { name, ...parsed.experiment, updatedAt: stored.updatedAt };
  }

  /** Validates the variants and that every config they name exists. */
  async putExperiment(
    c: string,
    name: string,
    body: unknown,
  ): Promise<{ name: string; updatedAt: string } & Experiment> {
    const parsed = parseExperiment(body);
    if (!parsed.ok) throw new BadRequestException({ message: 'Invalid experiment', errors: parsed.errors });
    const names = await this.repo.names(c);
    const errors = parsed.experiment.variants.flatMap((v, i) =>
      v.config === DEFAULT_CONFIG_NAME || names[v.config] !== undefined
        ? []
        : [{ path: `variants.${i}.config`, message: `ranking config '${v.config}' does not exist` }],
    );
    if (errors.length > 0) throw new BadRequestException({ message: 'Invalid experiment', errors });
    const stored = await this.repo.putExperiment(c, name, body);
    this.invalidate(experimentKey(c, name));
    return { name, ...parsed.experiment, updatedAt: stored.updatedAt };
  }

  async deleteExperiment(c: string, name: string): Promise<void> {
    const deleted = await this.repo.deleteExperiment(c, name);
    this.invalidate(experimentKey(c, name));
    if (!deleted) throw new NotFoundException(`Experiment '${name}' not found in catalogue '${c}'`);
  }

  private toResolved(name: string, stored: StoredConfigVersion): ResolvedConfig {
    const parsed = parseRankingConfig(stored.config);
    // Stored bodies were validated on write; failing here means a schema change made one invalid.
    if (!parsed.ok) {
      throw new Error(`stored ranking config '${name}' v${stored.version} no longer validates`);
    }
    return { name, version: stored.version, config: parsed.config };
  }

  private onChange(message: string): void {
    try {
      const change = JSON.parse(message) as ConfigChange;
      this.invalidate(
        change.kind === 'config' ? configKey(change.c, change.name) : experimentKey(change.c, change.name),
      );
    } catch {
      this.clear();
    }
  }

  private invalidate(key: string): void {
    this.epoch++;
    this.configs.delete(key);
    this.experiments.delete(key);
  }

  private clear(): void {
    this.epoch++;
    this.configs.clear();
    this.experiments.clear();
  }
}

function builtIn(): ResolvedConfig {
  return { name: DEFAULT_CONFIG_NAME, version: 0, config: DEFAULT_RANKING_CONFIG };
}
