/**
 * The architecture, checked (docs/development.md, "Layout"): pure rating and credits ->
 * settlement (use cases, and the ports the adapters meet through) -> adapters (kafka, ledger,
 * api, workers, payments, observability), which import none of each other, with src/shared
 * below them -> composition (config, app*.ts, cli.ts, payment-roles.ts). Tools (tools/) sit
 * outside the service.
 */
const ADAPTER_PACKAGES =
  '(kafkajs|@kafkajs/[^/]+|ioredis|prom-client|pino|fastify|@fastify/[^/]+|nodemailer|commander|stripe)';
const NETWORK_OR_PROCESS_IO =
  '^(node:)?(net|http|https|http2|dgram|tls|child_process|worker_threads|cluster)$';

/** The pure layers, and the one file of rating that is a command line (`rater rates`). */
const PURE = '^src/(rating|credits)/';

/** The adapters: each adapts one technology and imports none of the others. */
const ADAPTERS = '(kafka|ledger|api|workers|payments|observability)';
const PURE_EXCEPT = '^src/rating/cli\\.ts$';

/** An inner layer (use cases, shared) imports no adapter package and does no network or process I/O. */
const noAdapterPackageNorNetwork = (layer) => [
  {
    name: `${layer}-imports-no-adapter-package`,
    severity: 'error',
    from: { path: `^src/${layer}/` },
    to: { path: `^node_modules/${ADAPTER_PACKAGES}/` },
  },
  {
    name: `${layer}-does-no-network-io`,
    severity: 'error',
    from: { path: `^src/${layer}/` },
    to: { dependencyTypes: ['core'], path: NETWORK_OR_PROCESS_IO },
  },
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'rating-is-pure',
      comment:
        'src/rating knows only itself: nothing of Kafka, Redis, HTTP, metrics, logging or the other layers.',
      severity: 'error',
      from: { path: '^src/rating/', pathNot: PURE_EXCEPT },
      to: { pathNot: '^src/rating/', dependencyTypesNot: ['core', 'npm'] },
    },
    {
      name: 'credits-is-pure',
      comment: 'src/credits (wallet types, money, codes, calendar) knows only itself and the rating core.',
      severity: 'error',
      from: { path: '^src/credits/' },
      to: { pathNot: '^src/(credits|rating)/', dependencyTypesNot: ['core', 'npm'] },
    },
    {
      name: 'pure-imports-no-adapter-package',
      severity: 'error',
      from: { path: PURE, pathNot: PURE_EXCEPT },
      to: { path: `^node_modules/${ADAPTER_PACKAGES}/` },
    },
    {
      name: 'pure-does-no-io',
      severity: 'error',
      from: { path: PURE },
      to: { dependencyTypes: ['core'], path: NETWORK_OR_PROCESS_IO },
    },
    {
      name: 'settlement-uses-ports-only',
      comment:
        'The use cases (src/settlement) depend on the pure core and on ports they declare, never on an adapter: no kafkajs, ioredis, fastify, and none of src/kafka, src/ledger, src/api, src/workers, src/payments, src/observability, src/config.',
      severity: 'error',
      from: { path: '^src/settlement/' },
      to: { pathNot: '^src/(settlement|credits|rating)/', dependencyTypesNot: ['core', 'npm'] },
    },
    ...noAdapterPackageNorNetwork('settlement'),
    {
      name: 'ledger-knows-no-transport',
      comment:
        'The Redis ledger is called by the use cases, consumers and the API, never the other way round.',
      severity: 'error',
      from: { path: '^src/ledger/' },
      to: { path: '^src/(kafka|api|workers|payments|observability|config)/' },
    },
    {
      name: 'ledger-implements-ports-only',
      comment:
        'The ledger implements the ports src/settlement declares (type-only imports); it runs no use case.',
      severity: 'error',
      from: { path: '^src/ledger/' },
      to: { path: '^src/settlement/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'adapters-do-not-import-adapters',
      comment:
        'An adapter (kafka, ledger, api, workers, payments, observability) imports no other adapter: what two of them share is a port in settlement, a pure type in credits, or src/shared; only the composition (src/app*.ts, src/cli.ts, src/payment-roles.ts, src/config) wires them together.',
      severity: 'error',
      from: { path: `^src/${ADAPTERS}/` },
      to: { path: `^src/${ADAPTERS}/`, pathNot: '^src/$1/' },
    },
    {
      name: 'shared-is-below-the-adapters',
      comment:
        'src/shared holds what several adapters share that is neither a port nor pure domain (the pipeline events they emit and observe, redacting credentials from URLs): it imports only itself and the pure layers.',
      severity: 'error',
      from: { path: '^src/shared/' },
      to: { pathNot: '^src/(shared|credits|rating)/', dependencyTypesNot: ['core', 'npm'] },
    },
    ...noAdapterPackageNorNetwork('shared'),
    {
      name: 'api-is-not-kafka',
      comment:
        'The HTTP adapter does not reach into the Kafka adapter or the workers (shared rules live in settlement or credits).',
      severity: 'error',
      from: { path: '^src/api/' },
      to: { path: '^src/(kafka|workers)/' },
    },
    {
      name: 'kafka-and-workers-are-not-api',
      severity: 'error',
      from: { path: '^src/(kafka|workers)/' },
      to: { path: '^src/api/' },
    },
    {
      name: 'adapters-are-not-composition',
      comment: 'Only the composition root (app.ts, cli.ts) wires adapters together from the configuration.',
      severity: 'error',
      from: {
        path: '^src/(rating|credits|settlement|shared|kafka|ledger|api|workers|payments|observability)/',
        pathNot: PURE_EXCEPT,
      },
      to: { path: '^src/(app|cli)\\.ts$' },
    },
    {
      name: 'service-does-not-import-tools',
      comment:
        'The local stack, chaos run, demo and load generator (tools/) are not part of the service or its image.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(tools|test|bench|scripts)/' },
    },
    {
      name: 'not-to-dev-dep',
      comment: 'The image installs production dependencies only: src imports no devDependency.',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'only-observability-imports-prom-client',
      comment: 'Metrics subscribe to events; domain and adapters never import prom-client.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(api|observability)/' },
      to: { path: 'node_modules/prom-client' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-orphans',
      comment: 'A dead file is deleted, not kept.',
      severity: 'error',
      from: {
        orphan: true,
        pathNot: [
          '\\.d\\.ts$',
          '(^|/)\\.[^/]+\\.(js|cjs|mjs|ts|json)$',
          '^src/(cli|app)\\.ts$',
          '^src/.*/cli\\.ts$',
          '^tools/cli\\.ts$',
          '^tools/[^/]+/(cli|main)\\.ts$',
        ],
      },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
