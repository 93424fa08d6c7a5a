/** The architecture, checked: a pure rating core, adapters around it, one composition root. */
const ADAPTER_PACKAGES =
  '(kafkajs|@kafkajs/[^/]+|ioredis|prom-client|pino|fastify|@fastify/[^/]+|nodemailer|commander)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'rating-is-pure',
      comment: 'src/rating knows nothing of Kafka, Redis, HTTP, metrics, logging or the other layers.',
      severity: 'error',
      from: { path: '^src/rating/', pathNot: '^src/rating/cli\\.ts$' },
      to: {
        pathNot: '^src/rating/',
        dependencyTypesNot: ['core', 'npm'],
      },
    },
    {
      name: 'rating-imports-no-adapter-package',
      severity: 'error',
      from: { path: '^src/rating/', pathNot: '^src/rating/cli\\.ts$' },
      to: { path: `^node_modules/${ADAPTER_PACKAGES}/` },
    },
    {
      name: 'rating-does-no-network-io',
      severity: 'error',
      from: { path: '^src/rating/' },
      to: {
        dependencyTypes: ['core'],
        path: '^(node:)?(net|http|https|http2|dgram|tls|child_process|worker_threads)$',
      },
    },
    {
      name: 'ledger-knows-no-transport',
      comment: 'The Redis ledger is called by consumers and the API, never the other way round.',
      severity: 'error',
      from: { path: '^src/ledger/' },
      to: { path: '^src/(consumers|api|stack)/' },
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
          '^src/(cli|app|demo)\\.ts$',
          '^src/.*/cli\\.ts$',
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
