/**
 * Prometheus text parsed by a real parser (parse-prometheus-text-format, a port of the
 * Python client's parser with prom2json's output), for tests: what they assert on is
 * what a scraper reads, not what our own serializer meant to write.
 */
import { createRequire } from 'node:module'

export interface Sample {
  /** Missing on histogram samples: the parser drops the labels of labelled histograms (see below). */
  labels?: Record<string, string>
  value?: string
  /** Histograms: upper bound → cumulative count. */
  buckets?: Record<string, string>
  count?: string
  sum?: string
}

export interface MetricFamily {
  name: string
  help: string
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED'
  metrics: Sample[]
}

// The package ships CommonJS without types: loaded through require, typed here.
const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (
  text: string,
) => MetricFamily[]

/**
 * Parses exposition text; throws on a line the parser rejects. Counters and gauges come
 * out with their labels; a *labelled* histogram does not (the parser merges its series
 * and drops labels, sum and count), so histograms are checked through a real Prometheus
 * server (test/support/prometheus-server.ts) or the registry's JSON instead.
 */
export function parsePrometheus(text: string): MetricFamily[] {
  return parse(text)
}

/** The samples of `name` whose labels include `labels`. */
export function samples(
  families: MetricFamily[],
  name: string,
  labels: Record<string, string> = {},
): Sample[] {
  const family = families.find((f) => f.name === name)
  if (!family) return []
  return family.metrics.filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
}

/** The sum of the values of `name` over the samples matching `labels` (0 when none). */
export function total(families: MetricFamily[], name: string, labels: Record<string, string> = {}): number {
  return samples(families, name, labels).reduce((sum, s) => sum + Number(s.value ?? s.count ?? 0), 0)
}
