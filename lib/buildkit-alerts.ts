import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { MANAGED_BY } from './labels';
import { monitoringQueries, type Scope } from './monitoring-queries';
import { checkKnownKeys, type PropsShape } from './props-shape';
import { withExtraLabels } from './validation';

/** When the alerts fire. */
export interface AlertThresholds {
  /**
   * Share of failed builds over 15 minutes (with at least 5 builds) above which `BuildkitBuildsFailing` fires.
   * @default 0.5
   */
  readonly failureRatio?: number;
  /**
   * Container restarts per hour above which `BuildkitRestarting` fires.
   * @default 2
   */
  readonly restartsPerHour?: number;
  /**
   * Share of cached steps over an hour (with at least 50 steps) under which the informational
   * `BuildkitCacheHitsCollapsed` fires, as after a rollout that emptied the caches.
   * @default 0.1
   */
  readonly cacheHitRatio?: number;
}

export interface BuildkitAlertsProps extends AlertThresholds, Scope {
  /**
   * Daemons that should run; 0 (a parked builder) pages no one for being down.
   * @default 1
   */
  readonly replicas?: number;
  /**
   * Labels on the PrometheusRule besides its own, for a Prometheus that selects rules by label
   * (kube-prometheus-stack: `release: <its Helm release>`).
   * @default - none
   */
  readonly prometheusLabels?: Readonly<Record<string, string>>;
}

export const ALERT_THRESHOLDS_SHAPE: PropsShape<AlertThresholds> = {
  failureRatio: 'number',
  restartsPerHour: 'number',
  cacheHitRatio: 'number',
};
const RUNBOOK = 'README.md, "Troubleshooting"';

/** A Prometheus Operator PrometheusRule with the builder's alerts; needs its CRD, like the ServiceMonitor. */
export class BuildkitAlerts extends Construct {
  constructor(scope: Construct, id: string, props: BuildkitAlertsProps) {
    super(scope, id);
    const owner = 'BuildkitAlerts';
    checkKnownKeys(owner, props, {
      ...ALERT_THRESHOLDS_SHAPE,
      namespace: 'string',
      jobs: 'strings',
      container: 'string',
      replicas: 'number',
      prometheusLabels: 'record',
    });
    const ratio = (prop: 'failureRatio' | 'cacheHitRatio', fallback: number) => {
      const value = props[prop] ?? fallback;
      if (!(value > 0 && value < 1))
        throw new Error(`${owner}: invalid ${prop} ${value}: use a share between 0 and 1, such as ${fallback}`);
      return value;
    };
    const failureRatio = ratio('failureRatio', 0.5);
    const cacheHitRatio = ratio('cacheHitRatio', 0.1);
    const restarts = props.restartsPerHour ?? 2;
    if (!Number.isInteger(restarts) || restarts < 0)
      throw new Error(`${owner}: invalid restartsPerHour ${restarts}: use a whole number, 0 or more`);
    const q = monitoringQueries(props);
    const rule = (alert: string, expr: string, forDuration: string, severity: string, summary: string, runbook: string) => ({
      alert,
      expr,
      for: forDuration,
      // Sums drop the namespace label: set it on every alert, so that Alertmanager can group them by namespace (tenant).
      labels: { severity, namespace: props.namespace },
      annotations: { summary, runbook: `${RUNBOOK}: ${runbook}` },
    });
    const parked = (props.replicas ?? 1) === 0;
    const rules = [
      // A parked builder (replicas 0) is meant to be down.
      ...(parked
        ? []
        : [
            rule(
              'BuildkitNoDaemonUp',
              `(${q.daemonsUp}) < 1 or absent(${q.daemonUp})`,
              '5m',
              'critical',
              `No BuildKit daemon answers in ${props.namespace}: every build fails`,
              'service unavailable; pods not starting',
            ),
            rule(
              'BuildkitDaemonDown',
              `${q.daemonUp} == 0`,
              '10m',
              'warning',
              'BuildKit daemon {{ $labels.pod }} has been missing from the scrape for 10 minutes',
              'pods not starting',
            ),
          ]),
      rule(
        'BuildkitBuildsFailing',
        `(${q.failureRatio}) > ${failureRatio} and (${q.buildsInWindow}) >= 5`,
        '15m',
        'warning',
        `More than ${failureRatio * 100}% of builds failed in the last 15 minutes`,
        'TLS connection failed; slow builds, cache misses',
      ),
      rule(
        'BuildkitRestarting',
        `${q.restartsPerHour} > ${restarts} or ${q.oomKilled} > 0`,
        '0m',
        'warning',
        'BuildKit daemon {{ $labels.pod }} restarts or was OOM-killed, ending every build it ran',
        'all builds fail at once, pod restarted with `OOMKilled`',
      ),
      rule(
        'BuildkitCacheHitsCollapsed',
        `(${q.cacheHitRatio}) < ${cacheHitRatio} and (${q.stepsInHour}) >= 50`,
        '30m',
        'info',
        `Under ${cacheHitRatio * 100}% of build steps hit the cache in the last hour (informational: expected after a rollout empties caches)`,
        'slow builds, cache misses',
      ),
    ];
    new ApiObject(this, 'Resource', {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { name: 'buildkit', labels: withExtraLabels(owner, 'prometheusLabels', props.prometheusLabels ?? {}, { ...MANAGED_BY }) },
      spec: { groups: [{ name: 'buildkit', rules }] },
    });
  }
}
