import type { AlertThresholds } from './buildkit-alerts';
import type { BuildkitEgressPolicyProps } from './buildkit-egress-policy';
import type { BuildkitNetworkPolicyProps } from './buildkit-network-policy';

// The nested settings of BuildkitChartProps (buildkit-chart-props.ts), each documented where users read it.

/** Prometheus metrics of the daemons. */
export interface MetricsSettings {
  /**
   * Port of buildkitd's debug address (metrics and pprof); never exposed on the LoadBalancer.
   * @default 6060
   */
  readonly port?: number;
  /**
   * Add a Prometheus Operator ServiceMonitor (needs its CRD in the cluster).
   * @default false
   */
  readonly serviceMonitor?: boolean;
  /**
   * Annotate the metrics Service with `prometheus.io/scrape`.
   * @default true
   */
  readonly scrapeAnnotations?: boolean;
  /**
   * The namespace Prometheus scrapes from: a NetworkPolicy admits only it to the metrics port (which also
   * serves pprof, unauthenticated), with or without `networkPolicy`.
   * @default 'monitoring'
   */
  readonly monitoringNamespace?: string;
  /**
   * Labels on the ServiceMonitor and the PrometheusRule, for a Prometheus that selects them by label:
   * kube-prometheus-stack's takes only those labelled `release: <its Helm release>` unless its selectors are
   * emptied, so `{ release: 'kube-prometheus-stack' }` there.
   * @default - none
   */
  readonly prometheusLabels?: Readonly<Record<string, string>>;
  /**
   * A Grafana dashboard in a ConfigMap the Grafana sidecar loads (label `grafana_dashboard: "1"` unless set).
   * @default - no dashboard
   */
  readonly dashboard?: { readonly labelName?: string; readonly labelValue?: string; readonly title?: string };
  /**
   * A Prometheus Operator PrometheusRule with the builder's alerts (needs its CRD, like the ServiceMonitor).
   * @default - no alerts
   */
  readonly alerts?: AlertThresholds;
}

/** Who may reach the daemons. */
export interface NetworkPolicySettings extends Omit<BuildkitNetworkPolicyProps, 'daemon' | 'monitoringNamespace' | 'openBuildPort'> {
  /**
   * false: the build port admits every source (the metrics port stays the monitoring namespace's only).
   * @default true
   */
  readonly enabled?: boolean;
}

/** What the daemons' pods, and so every build step, may reach. */
export interface EgressSettings extends Omit<BuildkitEgressPolicyProps, 'daemon'> {
  /**
   * false: no egress policy. Build steps then reach the Kubernetes API, every Service and pod, the nodes and
   * the cloud metadata address (README, "Trust model").
   * @default true
   */
  readonly enabled?: boolean;
}

/** How the hardened mode's seccomp profile reaches the nodes. */
export interface SeccompProfileSettings {
  /**
   * 'operator': a security-profiles-operator SeccompProfile in dist/ (its CRD must be installed), which the
   * operator writes onto every node. 'node': you copy profiles/seccomp/buildkit-rootless.json to
   * /var/lib/kubelet/seccomp/<localhostProfile> on every node (node provisioning).
   * @default 'operator'
   */
  readonly install?: 'operator' | 'node';
  /**
   * The path under /var/lib/kubelet/seccomp/ that pods reference.
   * @default - operator/<namespace>-rootless.json with the operator (its SeccompProfile is named after the
   * namespace), buildkit/buildkit-rootless.json by hand
   */
  readonly localhostProfile?: string;
}

/** A second daemon on nodes of another architecture, for native multi-platform builds. */
export interface NativeBuilder {
  /** `kubernetes.io/arch` of its nodes, such as 'arm64'. */
  readonly architecture: string;
  /** Its LoadBalancer address. */
  readonly loadBalancerIP: string;
  /**
   * Name of its workload and Service.
   * @default - '<name>-<architecture>'
   */
  readonly name?: string;
}
