// Unit specs sit beside the code; e2e specs live in test/. Both use SWC (decorator metadata on) for speed.
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  },
];
// Some dependencies ship ESM only (Node requires them natively; Jest needs them compiled to CommonJS).
const esmOnly = ['content-disposition'];
const transform = { '^.+\\.ts$': swc, [`node_modules/(${esmOnly.join('|')})/.+\\.js$`]: swc };
const transformIgnorePatterns = [`/node_modules/(?!(${esmOnly.join('|')})/)`];

/** @type {import('jest').Config} */
module.exports = {
  // e2e specs load the real model and real data; unit specs finish far sooner.
  testTimeout: 180000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: '<rootDir>/test/support/jest-environment.js',
      roots: ['<rootDir>/src', '<rootDir>/workers'],
      testMatch: ['**/*.spec.ts'],
      transform,
      transformIgnorePatterns,
    },
    {
      displayName: 'e2e',
      testEnvironment: '<rootDir>/test/support/jest-environment.js',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.e2e-spec.ts'],
      transform,
      transformIgnorePatterns,
    },
  ],
};
