// Analytics over the query history (/v1/analytics/*): volume, latency, cost and ratings as charts,
// top and unanswered queries as tables, each report downloadable as CSV.

import { useMemo, useState } from "react";
import { SimpleChart } from "../components/Chart";
import { Empty, ErrorMessage, Field, Loaded, PageHeader, useAsync, when } from "../components/ui";
import { useSession } from "../session";

type Row = Record<string, string | number | null>;

interface Report {
  volume: Row[];
  latency: Row[];
  usage: Row[];
  top: Row[];
  noResults: Row[];
  rated: Row[];
}

const num = (v: unknown) => (typeof v === "number" ? v : Number(v ?? 0));

/** How many answers got each rating, 1 to 5. */
export function ratingCounts(rows: { rating?: unknown }[]): number[] {
  const counts = [0, 0, 0, 0, 0];
  for (const r of rows) {
    const n = num(r.rating);
    if (n >= 1 && n <= 5) counts[n - 1] += 1;
  }
  return counts;
}

/** Usage rows come most expensive first; a chart wants them in date order. */
const byDay = (rows: Row[]) => [...rows].sort((a, b) => String(a.day).localeCompare(String(b.day)));

export function Analytics() {
  const { client } = useSession();
  const [days, setDays] = useState("30");
  const range = useMemo(() => {
    const to = new Date();
    const from = new Date(to.getTime() - Number(days) * 86400_000);
    return { from: from.toISOString(), to: to.toISOString() };
  }, [days]);
  const [csvError, setCsvError] = useState<unknown>(null);
  const report = useAsync(async (): Promise<Report> => {
    const get = (name: string, extra: Record<string, string | number> = {}) =>
      client.get<Row[]>(`/v1/analytics/${name}`, { ...range, ...extra });
    const [volume, latency, usage, top, noResults, rated] = await Promise.all([
      get("volume", { interval: "day" }),
      get("latency"),
      get("usage", { group_by: "day" }),
      get("top-queries", { limit: 10 }),
      get("no-results", { limit: 20 }),
      get("lowest-rated", { limit: 1000 }),
    ]);
    return { volume, latency, usage, top, noResults, rated };
  }, [client, range]);

  const csv = (name: string, extra: Record<string, string> = {}) => async () => {
    setCsvError(null);
    const qs = new URLSearchParams({ ...range, ...extra, format: "csv" });
    try {
      await client.download(`/v1/analytics/${name}?${qs.toString()}`, `${name}.csv`);
    } catch (err) {
      setCsvError(err);
    }
  };
  const exportButton = (name: string, extra?: Record<string, string>) => (
    <button type="button" className="link" onClick={csv(name, extra)}>
      Export {name} as CSV
    </button>
  );

  return (
    <section className="page">
      <PageHeader title="Analytics">
        <Field label="Period">
          {(p) => (
            <select {...p} value={days} onChange={(e) => setDays(e.target.value)}>
              <option value="1">Last 24 hours</option>
              <option value="7">Last 7 days</option>
              <option value="30">Last 30 days</option>
              <option value="90">Last 90 days</option>
            </select>
          )}
        </Field>
      </PageHeader>
      <ErrorMessage error={csvError} />
      <Loaded state={report} label="Loading analytics…">
        {(r) => (
          <>
            <div className="charts">
              <div className="card">
                {r.volume.length === 0 ? (
                  <Empty>No queries in this period.</Empty>
                ) : (
                  <SimpleChart
                    type="bar"
                    title="Query volume per day"
                    labels={r.volume.map((v) => String(v.bucket).slice(0, 10))}
                    series={[
                      { label: "chat", data: r.volume.map((v) => num(v.chat)) },
                      { label: "search", data: r.volume.map((v) => num(v.search)) },
                      { label: "blocked", data: r.volume.map((v) => num(v.blocked)) },
                    ]}
                    summary={`${r.volume.reduce((a, v) => a + num(v.total), 0)} queries over ${r.volume.length} day(s)`}
                  />
                )}
                {exportButton("volume", { interval: "day" })}
              </div>
              <div className="card">
                {r.latency.length === 0 ? (
                  <Empty>No timings in this period.</Empty>
                ) : (
                  <SimpleChart
                    type="bar"
                    title="Latency per stage (ms)"
                    labels={r.latency.map((v) => String(v.stage).replace(/_ms$/, ""))}
                    series={[
                      { label: "p50", data: r.latency.map((v) => num(v.p50_ms)) },
                      { label: "p95", data: r.latency.map((v) => num(v.p95_ms)) },
                    ]}
                    summary={r.latency.map((v) => `${String(v.stage)} p95 ${String(v.p95_ms)} ms`).join(", ")}
                  />
                )}
                {exportButton("latency")}
              </div>
              <div className="card">
                {r.usage.length === 0 ? (
                  <Empty>No usage in this period.</Empty>
                ) : (
                  <SimpleChart
                    type="line"
                    title="LLM cost per day"
                    labels={byDay(r.usage).map((v) => String(v.day))}
                    series={[{ label: "cost", data: byDay(r.usage).map((v) => num(v.cost)) }]}
                    summary={`total cost ${r.usage.reduce((a, v) => a + num(v.cost), 0).toFixed(4)}`}
                  />
                )}
                {exportButton("usage", { group_by: "day" })}
              </div>
              <div className="card">
                {r.rated.length === 0 ? (
                  <Empty>No rated answers in this period.</Empty>
                ) : (
                  <SimpleChart
                    type="bar"
                    title="Answer ratings"
                    labels={["1", "2", "3", "4", "5"]}
                    series={[{ label: "answers", data: ratingCounts(r.rated) }]}
                    summary={ratingCounts(r.rated)
                      .map((c, i) => `${c} rated ${i + 1}`)
                      .join(", ")}
                  />
                )}
                {exportButton("lowest-rated")}
              </div>
            </div>
            <div className="charts">
              <section className="card" aria-labelledby="top-title">
                <h2 id="top-title">Top queries</h2>
                {r.top.length === 0 ? (
                  <Empty>None yet.</Empty>
                ) : (
                  <table className="table">
                    <thead>
                      <tr>
                        <th scope="col">Query</th>
                        <th scope="col">Count</th>
                        <th scope="col">Last asked</th>
                      </tr>
                    </thead>
                    <tbody>
                      {r.top.map((q, i) => (
                        <tr key={i}>
                          <td>{String(q.query)}</td>
                          <td>{String(q.count)}</td>
                          <td>{when(String(q.last_asked))}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )}
                {exportButton("top-queries")}
              </section>
              <section className="card" aria-labelledby="nores-title">
                <h2 id="nores-title">Unanswered (no results)</h2>
                {r.noResults.length === 0 ? (
                  <Empty>Every query found something.</Empty>
                ) : (
                  <table className="table">
                    <thead>
                      <tr>
                        <th scope="col">Query</th>
                        <th scope="col">Kind</th>
                        <th scope="col">When</th>
                      </tr>
                    </thead>
                    <tbody>
                      {r.noResults.map((q) => (
                        <tr key={String(q.id)}>
                          <td>{String(q.query)}</td>
                          <td>{String(q.kind)}</td>
                          <td>{when(String(q.created_at))}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )}
                {exportButton("no-results")}
              </section>
            </div>
          </>
        )}
      </Loaded>
    </section>
  );
}
