import { formatAmount } from '../format';

export interface DayPoint {
  day: string;
  /** Minor units. */
  value: bigint;
}

const W = 720;
const H = 220;
const PAD = { left: 70, right: 12, top: 12, bottom: 28 };

/**
 * The vertical scale of a series. Pixel positions are the one place amounts become floats:
 * drawing, never arithmetic on money.
 */
function scale(points: DayPoint[]) {
  const values = points.map((p) => Number(p.value));
  const max = Math.max(0, ...values);
  const min = Math.min(0, ...values);
  const span = max - min || 1;
  const y = (v: number) => PAD.top + ((max - v) / span) * (H - PAD.top - PAD.bottom);
  const x = (i: number) =>
    PAD.left + (points.length <= 1 ? 0 : (i / (points.length - 1)) * (W - PAD.left - PAD.right));
  return { max: BigInt(Math.round(max)), min: BigInt(Math.round(min)), y, x };
}

function Frame({ points, currency, title, children }: ChartProps & { title: string; children: unknown }) {
  const { y, max, min } = scale(points);
  const first = points[0]?.day ?? '';
  const last = points[points.length - 1]?.day ?? '';
  return (
    <>
      <line class="axis" x1={PAD.left} y1={H - PAD.bottom} x2={W - PAD.right} y2={H - PAD.bottom} />
      <line class="axis" x1={PAD.left} y1={PAD.top} x2={PAD.left} y2={H - PAD.bottom} />
      <line class="grid" x1={PAD.left} y1={y(Number(max))} x2={W - PAD.right} y2={y(Number(max))} />
      <text x={PAD.left - 6} y={y(Number(max)) + 4} text-anchor="end">
        {formatAmount(max, currency)}
      </text>
      <text x={PAD.left - 6} y={y(Number(min)) + 4} text-anchor="end">
        {formatAmount(min, currency)}
      </text>
      <text x={PAD.left} y={H - 8}>
        {first}
      </text>
      <text x={W - PAD.right} y={H - 8} text-anchor="end">
        {last}
      </text>
      <title>{title}</title>
      {children as never}
    </>
  );
}

interface ChartProps {
  points: DayPoint[];
  currency: string;
}

/** The same figures as a table, for screen readers and for anyone who wants the numbers. */
function DataTable({ points, currency, label }: ChartProps & { label: string }) {
  return (
    <details>
      <summary>{`${label}: the figures`}</summary>
      <div class="table-wrap" tabIndex={0} role="region" aria-label={`${label}: the figures`}>
        <table aria-label={`${label}: the figures`}>
          <thead>
            <tr>
              <th scope="col">Day (UTC)</th>
              <th scope="col" class="num">
                {label}
              </th>
            </tr>
          </thead>
          <tbody>
            {points.map((p) => (
              <tr key={p.day}>
                <td>{p.day}</td>
                <td class="num">{formatAmount(p.value, currency)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}

/** A day-by-day line (the balance at the end of each day), with the zero line when it crosses. */
export function LineChart({ points, currency, caption }: ChartProps & { caption: string }) {
  const { x, y, min } = scale(points);
  const path = points.map(
    (p, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(Number(p.value)).toFixed(1)}`,
  );
  return (
    <figure>
      <figcaption>{caption}</figcaption>
      <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={caption}>
        <Frame points={points} currency={currency} title={caption}>
          {min < 0n && <line class="zero" x1={PAD.left} y1={y(0)} x2={W - PAD.right} y2={y(0)} />}
          <path class="line" d={path.join(' ')} />
        </Frame>
      </svg>
      <DataTable points={points} currency={currency} label={caption} />
    </figure>
  );
}

/** One bar a day (the money spent that day). */
export function BarChart({ points, currency, caption }: ChartProps & { caption: string }) {
  const { x, y } = scale(points);
  const step = points.length > 1 ? x(1) - x(0) : 10;
  const width = Math.max(2, step * 0.7);
  return (
    <figure>
      <figcaption>{caption}</figcaption>
      <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={caption}>
        <Frame points={points} currency={currency} title={caption}>
          {points.map((p, i) => {
            const top = y(Math.max(0, Number(p.value)));
            const bottom = y(Math.min(0, Number(p.value)));
            return (
              <rect
                key={p.day}
                class="bar"
                x={(x(i) - width / 2).toFixed(1)}
                y={top.toFixed(1)}
                width={width.toFixed(1)}
                height={Math.max(0, bottom - top).toFixed(1)}
              />
            );
          })}
        </Frame>
      </svg>
      <DataTable points={points} currency={currency} label={caption} />
    </figure>
  );
}
