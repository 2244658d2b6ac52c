/**
 * A Prometheus histogram for the request path, registered in a prom-client registry beside its own
 * metrics and exposed in the same text format. prom-client's Histogram validates and hashes the
 * labels of every observation, which costs more than the rest of a WebAPI request's bookkeeping;
 * here a label set is resolved once into a child that observes with a bucket search and two adds.
 */
import type client from 'prom-client';

export interface LatencyChild {
  observe(seconds: number): void;
}

/** One line of the exposition, in the shape prom-client's Registry formats. */
interface SampleValue {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

interface Series {
  labels: Record<string, string>;
  /** Per bucket, not cumulative; the last slot counts what exceeds every bound. */
  counts: Float64Array;
  sum: number;
  count: number;
}

export class LatencyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    registry: client.Registry,
  ) {
    if (bounds.some((b, i) => i > 0 && b <= bounds[i - 1]!)) throw new RangeError(`${name}: bucket bounds must increase`);
    // prom-client's Registry accepts any object with this metric shape (name, help, type, get).
    registry.registerMetric(this as unknown as client.Metric);
  }

  /** The child of one label set; keep it, and observing costs no label handling at all. */
  labels(labels: Record<string, string>): LatencyChild {
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
    let series = this.series.get(key);
    if (!series) {
      series = { labels: { ...labels }, counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
      this.series.set(key, series);
    }
    const { bounds } = this;
    const target = series;
    return {
      observe(seconds: number): void {
        let b = 0;
        while (b < bounds.length && seconds > bounds[b]!) b++;
        target.counts[b]!++;
        target.sum += seconds;
        target.count++;
      },
    };
  }

  reset(): void {
    for (const series of this.series.values()) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }

  /** The values in prom-client's shape: cumulative `_bucket` series with `le`, then `_sum` and `_count`. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: SampleValue[] }> {
    const values: SampleValue[] = [];
    for (const { labels, counts, sum, count } of this.series.values()) {
      let cumulative = 0;
      this.bounds.forEach((bound, b) => {
        cumulative += counts[b]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { le: bound, ...labels }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', ...labels }, value: count });
      values.push({ metricName: `${this.name}_sum`, labels, value: sum });
      values.push({ metricName: `${this.name}_count`, labels, value: count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
