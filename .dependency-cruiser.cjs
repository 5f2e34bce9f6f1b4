/**
 * The layering of DESIGN.md, enforced in `npm test`. The exempt list is empty and only ever shrinks.
 */
const DOMAINS =
  '(identity|access|ledger|registry|telemetry|detect|respond|updates|network|assurance|assessment|privacy)';

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'Import cycles make start-up order and layering accidental.',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'protocol-is-pure',
      severity: 'error',
      comment: 'protocol/ is shared with agent, simulator and dashboard: no I/O and nothing of ours outside it.',
      // Tests beside the protocol code use node:test and node:assert; the code they test stays pure.
      from: { path: '^src/protocol/', pathNot: '\\.test\\.ts$' },
      to: { pathNot: ['^src/protocol/', '^node_modules/'], dependencyTypesNot: ['npm', 'npm-dev'] },
    },
    {
      name: 'protocol-no-node-builtins',
      severity: 'error',
      from: { path: '^src/protocol/', pathNot: '\\.test\\.ts$' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'firmware-is-a-library',
      severity: 'error',
      comment: 'The analyzer imports only protocol; its I/O lives in firmware/load/.',
      from: { path: '^src/firmware/' },
      to: { path: '^src/', pathNot: ['^src/firmware/', '^src/protocol/'] },
    },
    {
      name: 'firmware-core-no-io',
      severity: 'error',
      from: { path: '^src/firmware/', pathNot: ['^src/firmware/load/', '\\.test\\.ts$', '^src/firmware/testing/'] },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'domain-insides-are-private',
      severity: 'error',
      comment: "A domain may use another domain's index.ts, never its insides.",
      from: { path: `^src/server/${DOMAINS}/` },
      to: { path: `^src/server/${DOMAINS}/`, pathNot: ['^src/server/$1/', `^src/server/${DOMAINS}/index\\.ts$`] },
    },
    {
      name: 'adapters-reach-domains-by-index',
      severity: 'error',
      from: { path: '^src/server/(http|mqtt)/' },
      to: { path: `^src/server/${DOMAINS}/`, pathNot: `^src/server/${DOMAINS}/index\\.ts$` },
    },
    {
      name: 'services-never-import-adapters',
      severity: 'error',
      from: { path: `^src/server/${DOMAINS}/(service|store|model)[^/]*\\.ts$` },
      to: { path: '^src/server/(http|mqtt|main\\.ts)' },
    },
    {
      name: 'only-the-cli-starts-the-server',
      severity: 'error',
      from: { pathNot: ['^src/cli/', '^src/server/testing/', '^src/server/main\\.ts$', '^bench/', '\\.test\\.ts$'] },
      to: { path: '^src/server/main\\.ts$' },
    },
    {
      name: 'device-side-stays-device-side',
      severity: 'error',
      comment: 'The agent and simulator talk to the server over the wire, never through its modules.',
      from: { path: '^src/(agent|simulator)/' },
      to: { path: '^src/server/' },
    },
    {
      name: 'no-test-code-in-production',
      severity: 'error',
      from: { pathNot: ['\\.test\\.ts$', '/testing/', '^bench/'] },
      to: { path: ['\\.test\\.ts$', '/testing/'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: ['^src/web/'] },
  },
};
