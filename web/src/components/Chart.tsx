// Chart.js (maintained, no dependencies of its own) behind a small React wrapper; only the pieces
// used are registered, so the bundle stays small. Each chart also has a text summary for screen
// readers (the canvas is an image to them).

import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartConfiguration,
} from "chart.js";
import { useEffect, useRef } from "react";

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  Legend,
);

export const COLORS = ["#1d4ed8", "#b45309", "#047857", "#b91c1c", "#6d28d9"];

export interface Series {
  label: string;
  data: number[];
}

export function SimpleChart({
  type,
  labels,
  series,
  title,
  summary,
}: {
  type: "bar" | "line";
  labels: string[];
  series: Series[];
  title: string;
  summary: string;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const key = JSON.stringify([type, labels, series]); // redraw only when the data changes
  useEffect(() => {
    if (!canvas.current) return;
    const config: ChartConfiguration<"bar" | "line"> = {
      type,
      data: {
        labels,
        datasets: series.map((s, i) => ({
          label: s.label,
          data: s.data,
          backgroundColor: COLORS[i % COLORS.length],
          borderColor: COLORS[i % COLORS.length],
          tension: 0.2,
        })),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: series.length > 1, position: "bottom" } },
        scales: { y: { beginAtZero: true } },
      },
    };
    const chart = new Chart(canvas.current, config);
    return () => chart.destroy();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div className="chart-box">
        <canvas ref={canvas} role="img" aria-label={`${title}: ${summary}`} />
      </div>
    </figure>
  );
}
