/**
 * Distance (decision attacks, SimBA) or loss (Square) against queries spent, as a line chart; for
 * the white-box attacks, their loss and the logit margin against gradient evaluations.
 */
import { Chart as ChartJS, Filler, LinearScale, LineElement, PointElement, Tooltip } from 'chart.js';
import { useMemo } from 'react';
import { Line } from 'react-chartjs-2';
import type { AttackName, Norm, TrajectoryPoint } from '../../attacks';
import { useChartColors } from '../chartColors';

ChartJS.register(LineElement, PointElement, LinearScale, Tooltip, Filler);

export type TrajectoryMetric = 'distance' | 'loss' | 'whitebox';

/** Square reports its loss, FGSM and PGD loss and margin; every other attack the distance of its best adversarial. */
export function metricFor(attack: AttackName): TrajectoryMetric {
  if (attack === 'fgsm' || attack === 'pgd' || attack === 'apgd-ce' || attack === 'apgd-t') return 'whitebox';
  return attack === 'square' ? 'loss' : 'distance';
}

/** The y axis: the distance in the norm, or which loss Square minimises (its `loss` parameter). */
export function metricLabel(metric: TrajectoryMetric, norm: Norm, loss?: unknown): string {
  if (metric === 'whitebox')
    return loss === 'margin'
      ? 'margin loss (mean)'
      : loss === 'dlr'
        ? 'DLR loss (mean)'
        : 'cross-entropy loss (mean)';
  if (metric === 'loss')
    return loss === 'ce'
      ? 'cross-entropy loss'
      : loss === 'margin'
        ? 'margin loss (below 0: fooled)'
        : 'loss (margin or cross-entropy)';
  return norm === 'l2' ? 'L2 distance' : 'L∞ distance';
}

/** The finite values of one field of the points, against their x (queries or gradient evaluations). */
function seriesOf(
  points: readonly TrajectoryPoint[],
  k: 'loss' | 'distance' | 'margin',
): { x: number; y: number }[] {
  const out: { x: number; y: number }[] = [];
  for (const p of points) {
    const y = p[k];
    if (typeof y === 'number' && Number.isFinite(y)) out.push({ x: p.queries, y });
  }
  return out;
}

export interface TrajectoryChartProps {
  points: readonly TrajectoryPoint[];
  metric: TrajectoryMetric;
  norm: Norm;
  maxQueries: number;
  /** Square's resolved `loss` ('margin' | 'ce'), named on the axis */
  loss?: unknown;
}

export function TrajectoryChart({ points, metric, norm, maxQueries, loss }: TrajectoryChartProps) {
  const colors = useChartColors();
  const key = metric === 'whitebox' ? 'loss' : metric;
  const series = useMemo(() => seriesOf(points, key), [points, key]);
  const margin = useMemo(() => (metric === 'whitebox' ? seriesOf(points, 'margin') : []), [points, metric]);
  const label = metricLabel(metric, norm, loss);
  const xLabel = metric === 'whitebox' ? 'gradient evaluations' : 'queries';
  const last = series[series.length - 1];

  return (
    <figure
      className="attack-chart"
      data-testid="attack-chart"
      data-metric={metric}
      data-points={series.length}
      data-margin={margin.length ? margin[margin.length - 1].y : undefined}
    >
      <div className="attack-chart__canvas">
        <Line
          aria-hidden="true"
          data={{
            datasets: [
              {
                label,
                data: series,
                borderColor: colors.barStrong,
                backgroundColor: `${colors.barStrong}22`,
                borderWidth: 2,
                pointRadius: series.length > 40 ? 0 : 2,
                stepped: metric === 'distance' ? 'before' : false,
                fill: metric !== 'whitebox',
              },
              ...(metric === 'whitebox'
                ? [
                    {
                      label: 'logit margin z_y − max other (below 0: fooled)',
                      data: margin,
                      borderColor: colors.muted,
                      borderDash: [4, 3],
                      borderWidth: 2,
                      pointRadius: margin.length > 40 ? 0 : 2,
                      fill: false,
                    },
                  ]
                : []),
            ],
          }}
          options={{
            responsive: true,
            maintainAspectRatio: false,
            animation: false,
            parsing: false,
            normalized: true,
            interaction: { mode: 'nearest', intersect: false, axis: 'x' },
            plugins: {
              legend: { display: metric === 'whitebox', labels: { color: colors.muted, boxWidth: 12 } },
              tooltip: {
                callbacks: {
                  title: (items) => `${items[0]?.parsed.x ?? 0} ${xLabel}`,
                  label: (ctx) => `${ctx.dataset.label}: ${Number(ctx.parsed.y).toPrecision(4)}`,
                },
              },
            },
            scales: {
              x: {
                type: 'linear',
                min: 0,
                suggestedMax: maxQueries,
                title: { display: true, text: xLabel, color: colors.muted },
                ticks: { color: colors.muted, maxTicksLimit: 6 },
                grid: { color: colors.grid },
              },
              y: {
                type: 'linear',
                title: {
                  display: true,
                  text: metric === 'whitebox' ? 'loss / margin' : label,
                  color: colors.muted,
                },
                ticks: { color: colors.muted, maxTicksLimit: 6 },
                grid: { color: colors.grid },
              },
            },
          }}
        />
      </div>
      <figcaption className="sr-only">
        {label} against {xLabel}:{' '}
        {last ? `${last.y.toPrecision(4)} after ${last.x} ${xLabel}` : 'no point recorded yet'}
      </figcaption>
    </figure>
  );
}
