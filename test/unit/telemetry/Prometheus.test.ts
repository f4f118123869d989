import { describe, expect, it } from "@effect/vitest"
import { Effect, Metric, MetricBoundaries } from "effect"
import * as Prometheus from "../../../src/telemetry/Prometheus.js"

describe("Prometheus text format", () => {
  it("maps names: effect_mm2_ prefix, a leading mm2_ dropped, [^a-zA-Z0-9_] to _, counters end in _total", () => {
    expect(Prometheus.familyName("record-count", true)).toBe("effect_mm2_record_count_total")
    expect(Prometheus.familyName("record-age-ms-max", false)).toBe("effect_mm2_record_age_ms_max")
    expect(Prometheus.familyName("mm2_records_replicated", true)).toBe("effect_mm2_records_replicated_total")
    expect(Prometheus.familyName("effect_fiber_started", true)).toBe("effect_fiber_started_total")
    expect(Prometheus.familyName("x.y/z", false)).toBe("effect_mm2_x_y_z")
  })

  it.effect("renders counters, gauges, histograms and summaries with escaped labels, one HELP and TYPE per family", () =>
    Effect.gen(function*() {
      const id = `t${Math.random().toString(36).slice(2, 8)}`
      const counter = Metric.counter(`${id}-count`, { description: "a\ncounter", incremental: true })
      const gauge = Metric.gauge(`${id}-gauge`)
      const histogram = Metric.histogram(`${id}-hist`, MetricBoundaries.fromIterable([1, 10]))
      const summary = Metric.summary({ name: `${id}-sum`, maxAge: "1 minute", maxSize: 10, error: 0.01, quantiles: [0.5] })
      yield* Metric.incrementBy(counter.pipe(Metric.tagged("flow", "a->b"), Metric.tagged("topic", "q\"u\\o")), 3)
      yield* Metric.incrementBy(counter.pipe(Metric.tagged("flow", "c->d")), 1)
      yield* Metric.set(gauge.pipe(Metric.tagged("flow", "a->b")), 2.5)
      yield* Metric.update(histogram, 5)
      yield* Metric.update(summary, 7)
      const text = (yield* Prometheus.scrape).split("\n").filter((l) => l.includes(id)).join("\n")
      expect(text).toBe([
        `# HELP effect_mm2_${id}_count_total a\\ncounter`,
        `# TYPE effect_mm2_${id}_count_total counter`,
        `effect_mm2_${id}_count_total{flow="a->b",topic="q\\"u\\\\o"} 3`,
        `effect_mm2_${id}_count_total{flow="c->d"} 1`,
        `# HELP effect_mm2_${id}_gauge ${id}-gauge`,
        `# TYPE effect_mm2_${id}_gauge gauge`,
        `effect_mm2_${id}_gauge{flow="a->b"} 2.5`,
        `# HELP effect_mm2_${id}_hist ${id}-hist`,
        `# TYPE effect_mm2_${id}_hist histogram`,
        `effect_mm2_${id}_hist_bucket{le="1"} 0`,
        `effect_mm2_${id}_hist_bucket{le="10"} 1`,
        `effect_mm2_${id}_hist_bucket{le="+Inf"} 1`,
        `effect_mm2_${id}_hist_sum 5`,
        `effect_mm2_${id}_hist_count 1`,
        `# HELP effect_mm2_${id}_sum ${id}-sum`,
        `# TYPE effect_mm2_${id}_sum summary`,
        `effect_mm2_${id}_sum{quantile="0.5"} 7`,
        `effect_mm2_${id}_sum_sum 7`,
        `effect_mm2_${id}_sum_count 1`
      ].join("\n"))
    }))

  it("renders nothing for no metrics", () => {
    expect(Prometheus.render([])).toBe("")
  })
})
