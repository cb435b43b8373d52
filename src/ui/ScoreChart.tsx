/** Ten class probabilities as a bar chart (react-chartjs-2), true class marked; a table for screen readers. */
import { BarElement, CategoryScale, Chart as ChartJS, LinearScale, Tooltip } from 'chart.js';
import { Bar } from 'react-chartjs-2';
import { CLASS_NAMES_DE, CLASS_NAMES_EN } from '../core/labels';
import { useChartColors } from './chartColors';
import { percent } from './format';

ChartJS.register(BarElement, CategoryScale, LinearScale, Tooltip);

export interface ScoreChartProps {
  probs: Float32Array;
  trueLabel: number | null;
  title: string;
}

export function ScoreChart({ probs, trueLabel, title }: ScoreChartProps) {
  const colors = useChartColors();
  let pred = 0;
  for (let c = 1; c < 10; c++) if (probs[c] > probs[pred]) pred = c;
  const labels = CLASS_NAMES_EN.map((n, i) => (i === trueLabel ? `★ ${n}` : n));
  const data = {
    labels,
    datasets: [
      {
        label: 'probability',
        data: Array.from(probs),
        backgroundColor: CLASS_NAMES_EN.map((_, i) =>
          i === trueLabel ? colors.truth : i === pred ? colors.barStrong : colors.bar,
        ),
        borderRadius: 3,
        barPercentage: 0.85,
        categoryPercentage: 0.9,
        minBarLength: 1,
      },
    ],
  };
  return (
    <figure className="score-chart" data-testid="score-chart">
      <div className="score-chart__canvas">
        <Bar
          data={data}
          aria-hidden="true"
          options={{
            indexAxis: 'y',
            responsive: true,
            maintainAspectRatio: false,
            animation: { duration: 200 },
            plugins: {
              legend: { display: false },
              tooltip: {
                callbacks: {
                  label: (ctx) => `${percent(Number(ctx.raw), 2)} · API: ${CLASS_NAMES_DE[ctx.dataIndex]}`,
                },
              },
            },
            scales: {
              x: {
                min: 0,
                max: 1,
                ticks: {
                  color: colors.muted,
                  callback: (v) => `${Math.round(Number(v) * 100)}%`,
                  maxTicksLimit: 5,
                },
                grid: { color: colors.grid },
              },
              y: {
                ticks: {
                  color: (ctx) => (ctx.index === trueLabel ? colors.truth : colors.text),
                  font: (ctx) => ({
                    size: 11,
                    weight: ctx.index === trueLabel || ctx.index === pred ? 'bold' : 'normal',
                  }),
                  autoSkip: false,
                },
                grid: { display: false },
              },
            },
          }}
        />
      </div>
      <table className="sr-only">
        <caption>{title}</caption>
        <thead>
          <tr>
            <th scope="col">Class</th>
            <th scope="col">Probability</th>
          </tr>
        </thead>
        <tbody>
          {CLASS_NAMES_EN.map((n, i) => (
            <tr key={n} data-testid="score-row" data-class={i} data-true={i === trueLabel || undefined}>
              <th scope="row">
                {n}
                {i === trueLabel ? ' (true class)' : ''}
              </th>
              <td>{percent(probs[i], 2)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
