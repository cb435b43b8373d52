/** Distance (decision attacks, SimBA) or loss (Square) against queries spent, as a line chart. */
import { Chart as ChartJS, Filler, LinearScale, LineElement, PointElement, Tooltip } from 'chart.js';
import { useMemo } from 'react';
import { Line } from 'react-chartjs-2';
import type { AttackName, Norm, TrajectoryPoint } from '../../attacks';
import { useChartColors } from '../chartColors';

ChartJS.register(LineElement, PointElement, LinearScale, Tooltip, Filler);

export type TrajectoryMetric = 'distance' | 'loss';

/** Square reports its loss; every other attack the distance of its best adversarial. */
export function metricFor(attack: AttackName): TrajectoryMetric {
  return attack === 'square' ? 'loss' : 'distance';
}

/** The y axis: the distance in the norm, or which loss Square minimises (its `loss` parameter). */
export function metricLabel(metric: TrajectoryMetric, norm: Norm, loss?: unknown): string {
  if (metric === 'loss')
    return loss === 'ce'
      ? 'cross-entropy loss'
      : loss === 'margin'
        ? 'margin loss (below 0: fooled)'
        : 'loss (margin or cross-entropy)';
  return norm === 'l2' ? 'L2 distance' : 'L∞ distance';
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
  const series = useMemo(() => {
    const out: { x: number; y: number }[] = [];
    for (const p of points) {
      const y = p[metric];
      if (typeof y === 'number' && Number.isFinite(y)) out.push({ x: p.queries, y });
    }
    return out;
  }, [points, metric]);
  const label = metricLabel(metric, norm, loss);
  const last = series[series.length - 1];

  return (
    <figure
      className="attack-chart"
      data-testid="attack-chart"
      data-metric={metric}
      data-points={series.length}
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
                fill: true,
              },
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
              legend: { display: false },
              tooltip: {
                callbacks: {
                  title: (items) => `${items[0]?.parsed.x ?? 0} queries`,
                  label: (ctx) => `${label}: ${Number(ctx.parsed.y).toPrecision(4)}`,
                },
              },
            },
            scales: {
              x: {
                type: 'linear',
                min: 0,
                suggestedMax: maxQueries,
                title: { display: true, text: 'queries', color: colors.muted },
                ticks: { color: colors.muted, maxTicksLimit: 6 },
                grid: { color: colors.grid },
              },
              y: {
                type: 'linear',
                title: { display: true, text: label, color: colors.muted },
                ticks: { color: colors.muted, maxTicksLimit: 6 },
                grid: { color: colors.grid },
              },
            },
          }}
        />
      </div>
      <figcaption className="sr-only">
        {label} against queries:{' '}
        {last ? `${last.y.toPrecision(4)} after ${last.x} queries` : 'no point recorded yet'}
      </figcaption>
    </figure>
  );
}
