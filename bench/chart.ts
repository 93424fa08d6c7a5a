/** The benchmarks' charts: Vega-Lite specs rendered to SVG without a browser. */
export type VegaLiteSpec = import('vega-lite', { with: { 'resolution-mode': 'import' } }).TopLevelSpec;

export async function renderVegaLite(spec: VegaLiteSpec): Promise<string> {
  const vegaLite = await import('vega-lite');
  const vega = await import('vega');
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  return view.toSVG();
}

/** The end-to-end benchmark's figures. */
export interface ChartFigures {
  cdrsPerSecond: number;
  rawConsumePerSecond: number;
  passthroughPerSecond: number;
  singleScriptPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  latencyRate: number;
  latencyCurve: { offeredPerSecond: number; achievedPerSecond: number; p50Ms: number; p99Ms: number }[];
}

export async function drawChart(r: ChartFigures): Promise<string> {
  const throughput = [
    { what: 'consume only (kafkajs)', perSecond: r.rawConsumePerSecond, kind: 'baseline' },
    { what: 'passthrough (kafkajs)', perSecond: r.passthroughPerSecond, kind: 'baseline' },
    { what: 'rater end to end', perSecond: r.cdrsPerSecond, kind: 'rater' },
    { what: 'one script call per usage', perSecond: r.singleScriptPerSecond, kind: 'baseline' },
  ];
  const latency = [
    { what: 'p50', ms: r.p50Ms },
    { what: 'p99', ms: r.p99Ms },
  ];
  // One row per point and quantile; a point without figures (nothing measured) is left out.
  const curve = r.latencyCurve.flatMap((p) =>
    (['p50', 'p99'] as const)
      .map((q) => ({
        quantile: q,
        ms: q === 'p50' ? p.p50Ms : p.p99Ms,
        achieved: p.achievedPerSecond,
        offered: `offered ${p.offeredPerSecond.toLocaleString('en')}/s`,
      }))
      .filter((row) => row.ms > 0 && Number.isFinite(row.ms) && Number.isFinite(row.achieved)),
  );
  const spec: VegaLiteSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Rater end to end on the local stack',
    hconcat: [
      {
        title: 'Throughput (records a second); the goal is 50,000',
        width: 380,
        height: 180,
        layer: [
          {
            data: { values: throughput },
            mark: { type: 'bar' },
            encoding: {
              y: { field: 'what', type: 'nominal', sort: null, title: null, axis: { labelLimit: 300 } },
              x: { field: 'perSecond', type: 'quantitative', title: 'records / s' },
              color: { field: 'kind', type: 'nominal', legend: null },
            },
          },
          {
            data: { values: [{ goal: 50_000 }] },
            mark: { type: 'rule', strokeDash: [4, 4], color: 'black' },
            encoding: { x: { field: 'goal', type: 'quantitative' } },
          },
        ],
      },
      {
        title: `Produce to debit at ${r.latencyRate.toLocaleString('en')} records/s; the goal is p99 <= 50 ms`,
        width: 220,
        height: 180,
        layer: [
          {
            data: { values: latency },
            mark: { type: 'bar' },
            encoding: {
              x: { field: 'what', type: 'nominal', title: null, axis: { labelAngle: 0 } },
              y: { field: 'ms', type: 'quantitative', title: 'milliseconds' },
            },
          },
          {
            data: { values: [{ goal: 50 }] },
            mark: { type: 'rule', strokeDash: [4, 4], color: 'black' },
            encoding: { y: { field: 'goal', type: 'quantitative' } },
          },
        ],
      },
      {
        title: 'Produce to debit against the rate achieved (log scale); the goal is p99 <= 50 ms',
        width: 320,
        height: 180,
        layer: [
          {
            data: { values: curve },
            mark: { type: 'line', point: true },
            encoding: {
              x: { field: 'achieved', type: 'quantitative', title: 'records debited / s' },
              y: { field: 'ms', type: 'quantitative', title: 'milliseconds', scale: { type: 'log' } },
              color: { field: 'quantile', type: 'nominal', title: null },
              order: { field: 'achieved', type: 'quantitative' },
            },
          },
          {
            data: { values: curve.filter((row) => row.quantile === 'p99') },
            mark: { type: 'text', dy: -10, fontSize: 9 },
            encoding: {
              x: { field: 'achieved', type: 'quantitative' },
              y: { field: 'ms', type: 'quantitative', scale: { type: 'log' } },
              text: { field: 'offered', type: 'nominal' },
            },
          },
          {
            data: { values: [{ goal: 50 }] },
            mark: { type: 'rule', strokeDash: [4, 4], color: 'black' },
            encoding: { y: { field: 'goal', type: 'quantitative' } },
          },
        ],
      },
    ],
  };
  return renderVegaLite(spec);
}
