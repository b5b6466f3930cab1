import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dashboard } from '@grafana/schema';
import type { BuildkitChartProps } from '../lib/buildkit-chart-props';
import { buildkitDashboard, DASHBOARD_SCHEMA_VERSION } from '../lib/buildkit-dashboard';
import { monitoringQueries } from '../lib/monitoring-queries';
import { find, synthChart } from './support/chart';
import { validateCustomResources } from './support/crd';
import { ROOT } from './support/dist';

const { parser } = require('@prometheus-io/lezer-promql');
const FIXTURE = readFileSync(join(ROOT, 'test/fixtures/buildkit/metrics-v0.32.2.txt'), 'utf8');
const EXTERNAL = readFileSync(join(ROOT, 'test/fixtures/monitoring/external-metrics.md'), 'utf8');
const SCRAPE_LABELS = new Set(['namespace', 'job', 'pod', 'container', 'service', 'endpoint', 'instance']);
const MONITORED: BuildkitChartProps = {
  metrics: { dashboard: {}, alerts: {} },
  architecture: 'amd64',
  nativeBuilders: [{ architecture: 'arm64', loadBalancerIP: '10.0.0.9' }],
};
const scope = { namespace: 'buildkit', jobs: ['buildkitd-metrics'], container: 'buildkitd' };

/** Parse errors, and each selector's metric name with the label names it matches on, from Prometheus' own grammar. */
function analyse(expr: string): { errors: number; selectors: Array<{ metric: string; labels: string[] }> } {
  const tree = parser.parse(expr);
  let errors = 0;
  const selectors: Array<{ metric: string; labels: string[] }> = [];
  tree.iterate({
    enter: (node: any) => {
      if (node.type.isError) errors++;
      if (node.name === 'VectorSelector') {
        const text = expr.slice(node.from, node.to);
        const metric = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(text)?.[0] ?? '';
        const labels: string[] = [];
        node.node.cursor().iterate((n: any) => {
          if (n.name === 'LabelName') labels.push(expr.slice(n.from, n.to));
        });
        selectors.push({ metric, labels });
      }
    },
  });
  return { errors, selectors };
}

const objects = synthChart(MONITORED);
const dashboard = JSON.parse(find(objects, 'ConfigMap', 'buildkit-dashboard').data['buildkit.json']);
const rules = find(objects, 'PrometheusRule', 'buildkit').spec.groups[0].rules;
const expressions = [...dashboard.panels.flatMap((p: any) => p.targets.map((t: any) => t.expr)), ...rules.map((r: any) => r.expr)];

test("every PromQL expression parses with Prometheus' own grammar, which does reject a broken one", () => {
  expect(expressions.length).toBeGreaterThan(15);
  expect(expressions.filter((e) => analyse(e).errors > 0)).toEqual([]);
  expect(analyse('sum(rate(buildkit_builds_total[5m]) by').errors).toBeGreaterThan(0);
});

test('every BuildKit metric and label used is one a real v0.32.2 daemon serves; every other metric is a cited one', () => {
  const problems: string[] = [];
  for (const { metric, labels } of expressions.flatMap((e) => analyse(e).selectors)) {
    if (/^(buildkit_|rpc_)/.test(metric)) {
      const series = FIXTURE.split('\n').filter((l) => l.startsWith(`${metric}{`) || l.startsWith(`${metric} `));
      if (series.length === 0) problems.push(`${metric}: not in the fixture`);
      for (const label of labels)
        if (!SCRAPE_LABELS.has(label) && !series.some((l) => l.includes(`${label}="`))) problems.push(`${metric}: no label ${label}`);
    } else {
      const row = EXTERNAL.split('\n').find((l) => l.startsWith(`| \`${metric}\``));
      if (!row) problems.push(`${metric}: not in external-metrics.md`);
      for (const label of labels) if (row && !row.includes(`\`${label}\``)) problems.push(`${metric}: label ${label} not listed`);
    }
  }
  expect(problems).toEqual([]);
  // The check bites: a misspelt metric and a label BuildKit does not have.
  expect(analyse('rate(buildkit_build_total[5m])').selectors[0].metric).toBe('buildkit_build_total');
  expect(FIXTURE).not.toMatch(/^buildkit_build_total/m);
  expect(FIXTURE).not.toMatch(/buildkit_builds_total\{[^}]*\bworker="/);
});

test('durations are means over _sum/_count: the native histogram has no useful buckets in the text format', () => {
  expect(expressions.filter((e) => e.includes('histogram_quantile') || e.includes('_bucket'))).toEqual([]);
  expect(monitoringQueries(scope).meanBuildSeconds).toContain('buildkit_build_duration_seconds_sum');
});

describe('the Grafana dashboard', () => {
  test("is valid for Grafana's own dashboard types at the schema version it declares", () => {
    // Type-checked by tsc in `npm test`: the generated dashboard must be a Dashboard of @grafana/schema.
    const typed: Dashboard = buildkitDashboard(scope);
    // @ts-expect-error a string is no schema version: the type check above does run
    const wrong: Dashboard = { ...buildkitDashboard(scope), schemaVersion: '39' };
    expect(wrong.title).toBe('BuildKit');
    expect(typed.schemaVersion).toBe(DASHBOARD_SCHEMA_VERSION);
    expect(dashboard.schemaVersion).toBe(39);
  });

  test("has the panels a platform team needs, over every daemon's scrape job", () => {
    expect(dashboard.panels.map((p: any) => p.title)).toEqual([
      'Daemons up',
      'Build failure ratio (15m)',
      'Step cache-hit ratio (1h)',
      'Builds per minute by status',
      'Mean build duration (15m)',
      'gRPC calls per second',
      'gRPC mean latency',
      'Memory against its limit, per pod',
      'CPU against its request, per pod',
      'Restarts (1h) and OOM kills, per pod',
    ]);
    expect(dashboard.panels[0].targets[0].expr).toBe('sum(up{namespace="buildkit", job=~"buildkitd-metrics|buildkitd-arm64-metrics"})');
    expect(dashboard.panels[2].targets[0].expr).toContain('kind="cached"');
  });

  test('is a ConfigMap labelled for the Grafana sidecar, the label configurable; nothing without the setting', () => {
    expect(find(objects, 'ConfigMap', 'buildkit-dashboard').metadata.labels.grafana_dashboard).toBe('1');
    const custom = synthChart({ metrics: { dashboard: { labelName: 'grafana.com/dashboard', labelValue: 'builds' } } });
    expect(find(custom, 'ConfigMap', 'buildkit-dashboard').metadata.labels['grafana.com/dashboard']).toBe('builds');
    expect(synthChart({ metrics: {} }).filter((m) => m.metadata.name === 'buildkit-dashboard' || m.kind === 'PrometheusRule')).toEqual([]);
    expect(() => synthChart({ metrics: { dashboard: { labelName: 'not a label' } } })).toThrow(
      /^BuildkitDashboard: invalid labelName "not a label"/,
    );
  });

  test('its title: BuildKit unless set; one line of at most 100 characters', () => {
    const title = (t?: string) =>
      JSON.parse(find(synthChart({ metrics: { dashboard: { title: t } } }), 'ConfigMap', 'buildkit-dashboard').data['buildkit.json']).title;
    expect([dashboard.title, title('CI builders'), title('x'.repeat(100))]).toEqual(['BuildKit', 'CI builders', 'x'.repeat(100)]);
    for (const bad of ['', ' lead', 'two\nlines', 'x'.repeat(101)]) {
      expect(() => title(bad)).toThrow(
        `BuildkitDashboard: invalid title ${JSON.stringify(bad)}: use one line of at most 100 characters, such as BuildKit`,
      );
    }
  });
});

describe('the alerts', () => {
  test('a PrometheusRule valid for its CRD, each alert with a summary and a runbook row that exists in the README', () => {
    expect(validateCustomResources([find(objects, 'PrometheusRule', 'buildkit')])).toEqual([]);
    expect(rules.map((r: any) => [r.alert, r.labels.severity])).toEqual([
      ['BuildkitNoDaemonUp', 'critical'],
      ['BuildkitDaemonDown', 'warning'],
      ['BuildkitBuildsFailing', 'warning'],
      ['BuildkitRestarting', 'warning'],
      ['BuildkitCacheHitsCollapsed', 'info'],
    ]);
    // Sums drop the series' namespace: each alert carries it as a label of its own, and no summary reads it from the series.
    expect(new Set(rules.map((r: any) => r.labels.namespace))).toEqual(new Set(['buildkit']));
    expect(rules.filter((r: any) => r.annotations.summary.includes('$labels.namespace'))).toEqual([]);
    expect(rules[0].annotations.summary).toBe('No BuildKit daemon answers in buildkit: every build fails');
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const troubleshooting = readme.slice(
      readme.indexOf('### Troubleshooting'),
      readme.indexOf('## ', readme.indexOf('### Troubleshooting') + 4),
    );
    for (const rule of rules) {
      expect(rule.annotations.summary.length).toBeGreaterThan(20);
      for (const row of rule.annotations.runbook.split(': ').slice(1).join(': ').split('; ')) {
        expect({ alert: rule.alert, row, inReadme: troubleshooting.includes(`| ${row} |`) }).toEqual({
          alert: rule.alert,
          row,
          inReadme: true,
        });
      }
    }
  });

  test('thresholds are settings; a parked builder (replicas 0) pages no one for being down', () => {
    const tuned = find(
      synthChart({ metrics: { alerts: { failureRatio: 0.25, restartsPerHour: 5, cacheHitRatio: 0.3 } } }),
      'PrometheusRule',
      'buildkit',
    ).spec.groups[0].rules;
    expect(tuned.find((r: any) => r.alert === 'BuildkitBuildsFailing').expr).toMatch(/\) > 0\.25 and /);
    expect(tuned.find((r: any) => r.alert === 'BuildkitRestarting').expr).toMatch(/\) > 5 or /);
    expect(tuned.find((r: any) => r.alert === 'BuildkitCacheHitsCollapsed').expr).toMatch(/\) < 0\.3 and /);
    const parked = find(synthChart({ replicas: 0, metrics: { alerts: {} } }), 'PrometheusRule', 'buildkit').spec.groups[0].rules;
    expect(parked.map((r: any) => r.alert)).toEqual(['BuildkitBuildsFailing', 'BuildkitRestarting', 'BuildkitCacheHitsCollapsed']);
    expect(() => synthChart({ metrics: { alerts: { failureRatio: 1.5 } } })).toThrow(
      /^BuildkitAlerts: invalid failureRatio 1\.5: use a share between 0 and 1/,
    );
  });
});

describe('labels for a Prometheus that selects by label', () => {
  // kube-prometheus-stack's Prometheus, as its chart sets it up: serviceMonitorSelector and ruleSelector.
  const selector = { matchLabels: { release: 'kube-prometheus-stack' } };
  const selects = (o: any) => Object.entries(selector.matchLabels).every(([k, v]) => o.metadata.labels?.[k] === v);
  const withMonitors = (metrics: NonNullable<BuildkitChartProps['metrics']>) =>
    synthChart({ metrics: { serviceMonitor: true, alerts: {}, dashboard: {}, ...metrics } });
  const monitors = (objects: any[]) => objects.filter((o) => ['ServiceMonitor', 'PrometheusRule'].includes(o.kind));

  test('prometheusLabels put the ServiceMonitor and the PrometheusRule in its selection, and nothing else changes', () => {
    const plain = withMonitors({});
    expect(monitors(plain).filter(selects)).toEqual([]);
    const labelled = withMonitors({ prometheusLabels: { release: 'kube-prometheus-stack' } });
    expect(monitors(labelled).map((o) => [o.kind, selects(o)])).toEqual([
      ['ServiceMonitor', true],
      ['PrometheusRule', true],
    ]);
    expect(validateCustomResources(monitors(labelled))).toEqual([]);
    // Only those two objects: the Service, the dashboard and the rest are as before.
    const other = (objects: any[]) => objects.filter((o) => !['ServiceMonitor', 'PrometheusRule'].includes(o.kind));
    expect(other(labelled)).toEqual(other(plain));
    const unlabel = (o: any) => ({ ...o, metadata: { ...o.metadata, labels: { ...o.metadata.labels, release: undefined } } });
    expect(JSON.parse(JSON.stringify(monitors(labelled).map(unlabel)))).toEqual(monitors(plain));
  });

  test.each([
    [
      { 'app.kubernetes.io/managed-by': 'helm' },
      /^BuildkitMetrics: invalid prometheusLabels key "app\.kubernetes\.io\/managed-by": the chart sets that label itself; /,
    ],
    [{ 'bad key!': 'x' }, /^BuildkitMetrics: invalid prometheusLabels key "bad key!": use a Kubernetes label name, such as release$/],
    [
      { release: 'kube prometheus' },
      /^BuildkitMetrics: invalid prometheusLabels\["release"\] "kube prometheus": use a Kubernetes label value, such as kube-prometheus-stack$/,
    ],
  ])('%j is refused in one line', (prometheusLabels, message) => {
    expect(() => withMonitors({ prometheusLabels })).toThrow(message);
  });

  test('the PrometheusRule alone checks them too', () => {
    expect(() => synthChart({ metrics: { alerts: {}, prometheusLabels: { 'app.kubernetes.io/managed-by': 'x' } } })).toThrow(
      /^BuildkitAlerts: invalid prometheusLabels key "app\.kubernetes\.io\/managed-by": the chart sets that label itself/,
    );
    expect(() => synthChart({ metrics: { prometheusLabels: 'release' as never } })).toThrow(/invalid metrics\.prometheusLabels "release"/);
  });
});
