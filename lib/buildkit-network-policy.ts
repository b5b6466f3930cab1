import { Construct } from 'constructs';
import { IntOrString, KubeNetworkPolicy, type NetworkPolicyPeer } from '../imports/k8s';
import { checkCidr } from './addresses';
import type { BuildkitDaemon } from './buildkit-daemon';
import { MANAGED_BY } from './labels';
import { checkKnownKeys, type PropsShape } from './props-shape';
import { checkDnsLabel } from './validation';

export interface BuildkitNetworkPolicyProps {
  /** The daemon whose pods the policy guards. */
  readonly daemon: BuildkitDaemon;

  /**
   * Source ranges allowed to reach the build port through the LoadBalancer. With the Service's
   * externalTrafficPolicy 'Cluster' the source is a node address, so keep the nodes' range in here. Pod
   * addresses fall in these ranges too (10.42/16, 10.244/16, Calico's 192.168/16): a range admits every pod in it.
   * @default - the private ranges (10/8, 172.16/12, 192.168/16), or none when allowedNamespaces is set
   */
  readonly allowedCidrs?: readonly string[];

  /**
   * Namespaces whose pods may reach the build port.
   * @default - every namespace in the cluster
   */
  readonly allowedNamespaces?: readonly string[];

  /**
   * Admit the build port from every source, restricting only the metrics port: what a chart with metrics
   * but no access policy needs, since a pod that any policy selects refuses whatever no policy admits.
   * @default false
   */
  readonly openBuildPort?: boolean;

  /**
   * The namespace Prometheus scrapes from; the only one that reaches the metrics port.
   * @default 'monitoring'
   */
  readonly monitoringNamespace?: string;
}

export const NETWORK_POLICY_SHAPE: PropsShape<BuildkitNetworkPolicyProps> = {
  daemon: 'object',
  allowedCidrs: 'strings',
  allowedNamespaces: 'strings',
  monitoringNamespace: 'string',
  openBuildPort: 'boolean',
};
const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];

const byName = (namespaces: readonly string[]): NetworkPolicyPeer => ({
  namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [...namespaces] }] },
});

/** Ingress to the daemon: the build port from the allowed ranges and namespaces, metrics from monitoring only. */
export class BuildkitNetworkPolicy extends Construct {
  public readonly resource: KubeNetworkPolicy;
  /** The daemon it guards. */
  public readonly daemon: BuildkitDaemon;

  constructor(scope: Construct, id: string, props: BuildkitNetworkPolicyProps) {
    super(scope, id);
    checkKnownKeys('BuildkitNetworkPolicy', props, NETWORK_POLICY_SHAPE);
    const { daemon } = props;
    this.daemon = daemon;
    const namespaces = props.allowedNamespaces?.map((n) => checkDnsLabel('BuildkitNetworkPolicy', 'allowedNamespaces entry', n));
    // Naming namespaces means "only these": the private ranges would admit every pod of the cluster again.
    const cidrs = (props.allowedCidrs ?? (namespaces ? [] : PRIVATE_RANGES)).map((cidr) =>
      checkCidr('BuildkitNetworkPolicy', 'allowedCidrs entry', cidr),
    );
    const monitoring = checkDnsLabel('BuildkitNetworkPolicy', 'monitoringNamespace', props.monitoringNamespace ?? 'monitoring');
    if (props.openBuildPort && (props.allowedCidrs || namespaces)) {
      throw new Error(
        'BuildkitNetworkPolicy: invalid openBuildPort true: it admits every source, so allowedCidrs and allowedNamespaces would mean nothing; set one or the other',
      );
    }
    const buildPort = [{ port: IntOrString.fromNumber(daemon.port), protocol: 'TCP' }];
    const ingress: Array<{ from?: NetworkPolicyPeer[]; ports: typeof buildPort }> = [
      props.openBuildPort
        ? { ports: buildPort }
        : {
            from: [...cidrs.map((cidr) => ({ ipBlock: { cidr } })), namespaces ? byName(namespaces) : { namespaceSelector: {} }],
            ports: buildPort,
          },
    ];
    if (daemon.metricsPort !== undefined) {
      ingress.push({ from: [byName([monitoring])], ports: [{ port: IntOrString.fromNumber(daemon.metricsPort), protocol: 'TCP' }] });
    }
    this.resource = new KubeNetworkPolicy(this, 'Resource', {
      metadata: { name: daemon.name, labels: { ...daemon.selectorLabels, ...MANAGED_BY } },
      spec: { podSelector: { matchLabels: daemon.selectorLabels }, policyTypes: ['Ingress'], ingress },
    });
  }
}
