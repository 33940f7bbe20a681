export * from './ranking-config.schema';
export * from './conditions';
export * from './candidates';
export * from './mmr';
export * from './rank';
export * from './experiment';
export * from './compare';
