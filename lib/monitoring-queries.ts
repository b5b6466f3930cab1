/**
 * The PromQL the dashboard and the alerts share, over BuildKit's own metrics (v0.31+; names as a real
 * v0.32.2 daemon serves them), kube-state-metrics and cAdvisor (names listed, with their sources, in
 * test/fixtures/monitoring/external-metrics.md). BuildKit's duration histogram is a native histogram: the
 * text format has only `+Inf`, so durations are means (`_sum / _count`), never histogram_quantile.
 */
export interface Scope {
  /** The daemons' namespace. */
  readonly namespace: string;
  /** The metrics Services, whose names are the scrape jobs' (the ServiceMonitor's default job label). */
  readonly jobs: readonly string[];
  /** The daemons' container name. */
  readonly container: string;
}

export function monitoringQueries(scope: Scope, window = '15m') {
  const daemons = `namespace="${scope.namespace}", job=~"${scope.jobs.join('|')}"`;
  const pods = `namespace="${scope.namespace}", container="${scope.container}"`;
  const ratio = (num: string, den: string) => `sum(${num}) / clamp_min(sum(${den}), 1e-9)`;
  return {
    daemonsUp: `sum(up{${daemons}})`,
    daemonUp: `up{${daemons}}`,
    buildsPerMinute: `sum by (status) (rate(buildkit_builds_total{${daemons}}[5m])) * 60`,
    failureRatio: ratio(
      `rate(buildkit_builds_total{${daemons}, status="failure"}[${window}])`,
      `rate(buildkit_builds_total{${daemons}}[${window}])`,
    ),
    buildsInWindow: `sum(increase(buildkit_builds_total{${daemons}}[${window}]))`,
    meanBuildSeconds: ratio(
      `rate(buildkit_build_duration_seconds_sum{${daemons}}[${window}])`,
      `rate(buildkit_build_duration_seconds_count{${daemons}}[${window}])`,
    ),
    cacheHitRatio: ratio(
      `rate(buildkit_builds_steps_total{${daemons}, kind="cached"}[1h])`,
      `rate(buildkit_builds_steps_total{${daemons}, kind="total"}[1h])`,
    ),
    stepsInHour: `sum(increase(buildkit_builds_steps_total{${daemons}, kind="total"}[1h]))`,
    grpcCallsPerSecond: `sum by (rpc_method) (rate(rpc_server_call_duration_seconds_count{${daemons}}[5m]))`,
    grpcMeanSeconds: `sum by (rpc_method) (rate(rpc_server_call_duration_seconds_sum{${daemons}}[5m])) / clamp_min(sum by (rpc_method) (rate(rpc_server_call_duration_seconds_count{${daemons}}[5m])), 1e-9)`,
    memoryBytes: `sum by (pod) (container_memory_working_set_bytes{${pods}})`,
    memoryLimitBytes: `sum by (pod) (kube_pod_container_resource_limits{${pods}, resource="memory"})`,
    cpuCores: `sum by (pod) (rate(container_cpu_usage_seconds_total{${pods}}[5m]))`,
    cpuRequestCores: `sum by (pod) (kube_pod_container_resource_requests{${pods}, resource="cpu"})`,
    restartsPerHour: `sum by (pod) (increase(kube_pod_container_status_restarts_total{${pods}}[1h]))`,
    oomKilled: `sum by (pod) (kube_pod_container_status_last_terminated_reason{${pods}, reason="OOMKilled"})`,
  };
}
