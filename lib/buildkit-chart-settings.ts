import { AlertThresholds } from './buildkit-alerts';
import { BuildkitNetworkPolicyProps } from './buildkit-network-policy';

// The nested settings of BuildkitChartProps, each documented where config.ts users read it.

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
   * A Grafana dashboard in a ConfigMap the Grafana sidecar loads (label `grafana_dashboard: "1"` unless set).
   * @default - no dashboard
   */
  readonly dashboard?: { readonly labelName?: string; readonly labelValue?: string };
  /**
   * A Prometheus Operator PrometheusRule with the builder's alerts (needs its CRD, like the ServiceMonitor).
   * @default - no alerts
   */
  readonly alerts?: AlertThresholds;
}

/** Who may reach the daemons. */
export type NetworkPolicySettings = Omit<BuildkitNetworkPolicyProps, 'daemon' | 'monitoringNamespace' | 'openBuildPort'>;

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
   * @default - operator/<namespace>/buildkit-rootless.json with the operator, buildkit/buildkit-rootless.json by hand
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
