import { describe, expect, it } from "vitest";
import { dashboardMetricNames, exportedMetrics, isExported } from "./promql";

describe("dashboardMetricNames", () => {
  it("finds the metric inside functions, aggregations, ranges and label matchers", () => {
    expect(
      dashboardMetricNames(
        'histogram_quantile(0.99, sum by (handler, le) (rate(hookstream_handler_duration_seconds_bucket{handler="batch"}[$__rate_interval])))',
      ),
    ).toEqual(["hookstream_handler_duration_seconds_bucket"]);
  });

  it("finds both sides of a binary expression and skips keywords, offsets and numbers", () => {
    expect(
      dashboardMetricNames(
        'sum(rate(a_total{code="401"}[5m] offset 30m)) / on (x) group_left sum(rate(b_total[1h])) > 0.2 and up == 1e-9',
      ).sort(),
    ).toEqual(["a_total", "b_total", "up"]);
  });
});

describe("isExported", () => {
  const exported = exportedMetrics(
    '# TYPE h_seconds histogram\nh_seconds_bucket{le="1"} 0\n# TYPE c_total counter\n# TYPE g gauge\n',
  );

  it("accepts a histogram's bucket, sum and count series by the histogram's name", () => {
    expect(
      ["h_seconds_bucket", "h_seconds_sum", "h_seconds_count"].map((n) => isExported(n, exported)),
    ).toEqual([true, true, true]);
  });

  it("refuses a bucket of something that is not a histogram, and unknown names", () => {
    expect(isExported("g_bucket", exported)).toBe(false);
    expect(isExported("c_total_count", exported)).toBe(false);
    expect(isExported("nothing", exported)).toBe(false);
    expect(isExported("c_total", exported)).toBe(true);
  });
});
