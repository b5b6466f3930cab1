import { Construct } from 'constructs';
import { IntOrString, KubeService } from '../imports/k8s';
import { checkIPv4 } from './addresses';
import type { BuildkitDaemon } from './buildkit-daemon';
import { MANAGED_BY } from './labels';
import { checkKnownKeys, type PropsShape } from './props-shape';
import { SEED } from './settings';
import { checkDnsLabel, checkDnsSubdomain, checkPort, checkPositiveInteger } from './validation';

export interface BuildkitServiceProps {
  /** The daemon whose pods the Service selects. */
  readonly daemon: BuildkitDaemon;

  /**
   * Name of the Service; in-cluster clients dial `<name>.<namespace>.svc.<cluster domain>`.
   * @default - the daemon's name
   */
  readonly name?: string;

  /**
   * Port clients dial.
   * @default - the daemon's port
   */
  readonly port?: number;

  /**
   * Fixed LoadBalancer address, requested from MetalLB.
   * @default '192.168.80.110'
   */
  readonly loadBalancerIP?: string;

  /**
   * Select this one StatefulSet pod (such as 'buildkitd-0') instead of all replicas: an endpoint a CI job
   * can pin a repository to, so its cache stays warm.
   * @default - every replica
   */
  readonly podName?: string;

  /**
   * With several replicas, how long one client keeps reaching the same daemon (ClientIP affinity). Longer
   * than a build, so that a build's follow-up sessions find their cache.
   * @default 10800 (3 hours), applied only when the Service selects more than one pod
   */
  readonly sessionAffinityTimeoutSeconds?: number;

  /**
   * 'Local' keeps clients' source addresses (for NetworkPolicy and affinity) but only nodes running a
   * daemon answer; 'Cluster' answers on every node but rewrites the source to a node address.
   * @default - Kubernetes' default, 'Cluster'
   */
  readonly externalTrafficPolicy?: 'Cluster' | 'Local';

  /**
   * What assigns LoadBalancer addresses in the cluster, and so which annotation asks it for `loadBalancerIP`:
   * MetalLB (`metallb.io/loadBalancerIPs`), Cilium's LB IPAM (`lbipam.cilium.io/ips`) or kube-vip
   * (`kube-vip.io/loadbalancerIPs`). Each ignores the others' annotation and assigns an address of its own.
   * @default 'metallb'
   */
  readonly loadBalancer?: LoadBalancerImplementation;

  /**
   * MetalLB address pool to take the IP from.
   * @default - MetalLB picks the pool that holds the IP
   */
  readonly addressPool?: string;

  /**
   * Use MetalLB's `metallb.universe.tf/` annotations (MetalLB before 0.14) instead of `metallb.io/`.
   * @default false
   */
  readonly legacyMetallbAnnotations?: boolean;

  /**
   * Cluster DNS domain, for the names pods resolve the Service by (and the server certificate covers).
   * @default 'cluster.local'
   */
  readonly clusterDomain?: string;
}

const PROPS_SHAPE: PropsShape<BuildkitServiceProps> = {
  daemon: 'object',
  name: 'string',
  port: 'number',
  loadBalancerIP: 'string',
  podName: 'string',
  sessionAffinityTimeoutSeconds: 'number',
  externalTrafficPolicy: 'string',
  loadBalancer: 'string',
  addressPool: 'string',
  legacyMetallbAnnotations: 'boolean',
  clusterDomain: 'string',
};

/** The annotation Cilium's LB IPAM and kube-vip read a requested address from (spec.loadBalancerIP is deprecated). */
const OTHER_IMPLEMENTATIONS = { cilium: 'lbipam.cilium.io/ips', 'kube-vip': 'kube-vip.io/loadbalancerIPs' } as const;
export type LoadBalancerImplementation = 'metallb' | keyof typeof OTHER_IMPLEMENTATIONS;

/** The annotations that ask the implementation for the address (and, for MetalLB, the pool). */
function addressAnnotations(owner: string, ip: string, props: BuildkitServiceProps): Record<string, string> {
  const implementation = props.loadBalancer ?? 'metallb';
  if (implementation === 'metallb') {
    const prefix = props.legacyMetallbAnnotations ? 'metallb.universe.tf' : 'metallb.io';
    return {
      [`${prefix}/loadBalancerIPs`]: ip,
      ...(props.addressPool === undefined ? {} : { [`${prefix}/address-pool`]: checkDnsLabel(owner, 'addressPool', props.addressPool) }),
    };
  }
  if (!Object.hasOwn(OTHER_IMPLEMENTATIONS, implementation)) {
    throw new Error(`${owner}: invalid loadBalancer ${JSON.stringify(implementation)}: use 'metallb', 'cilium' or 'kube-vip'`);
  }
  const metallbOnly =
    props.addressPool !== undefined ? 'addressPool' : props.legacyMetallbAnnotations ? 'legacyMetallbAnnotations' : undefined;
  if (metallbOnly) {
    throw new Error(
      `${owner}: invalid ${metallbOnly} ${JSON.stringify(props[metallbOnly])}: it is MetalLB's, and loadBalancer is '${implementation}'; leave it out`,
    );
  }
  return { [OTHER_IMPLEMENTATIONS[implementation]]: ip };
}

/**
 * A LoadBalancer in front of the daemon. Plain L4: one build session is one HTTP/2 connection, which stays on
 * the pod it reached; TLS ends in buildkitd, never at the balancer. Only the build port is exposed.
 */
export class BuildkitService extends Construct {
  public readonly name: string;
  public readonly port: number;
  public readonly loadBalancerIP: string;
  public readonly clusterDomain: string;
  /** The daemon whose pods it selects. */
  public readonly daemon: BuildkitDaemon;
  /** The one StatefulSet pod it selects, for a per-replica address. */
  public readonly podName?: string;
  public readonly resource: KubeService;

  constructor(scope: Construct, id: string, props: BuildkitServiceProps) {
    super(scope, id);
    const owner = 'BuildkitService';
    checkKnownKeys(owner, props, PROPS_SHAPE);
    this.daemon = props.daemon;
    this.podName = props.podName;
    this.name = checkDnsLabel(owner, 'name', props.name ?? props.daemon.name);
    this.port = checkPort(owner, 'port', props.port ?? props.daemon.port);
    this.loadBalancerIP = checkIPv4(owner, 'loadBalancerIP', props.loadBalancerIP ?? SEED.loadBalancerIP);
    this.clusterDomain = checkDnsSubdomain(owner, 'clusterDomain', props.clusterDomain ?? SEED.clusterDomain);
    const annotations = addressAnnotations(owner, this.loadBalancerIP, props);
    const selector = { ...props.daemon.selectorLabels };
    if (props.podName !== undefined) {
      if (props.daemon.workloadKind !== 'statefulset') {
        throw new Error(
          `${owner}: invalid podName ${JSON.stringify(props.podName)}: only StatefulSet pods have stable names; use workload 'statefulset'`,
        );
      }
      selector['statefulset.kubernetes.io/pod-name'] = checkDnsLabel(owner, 'podName', props.podName);
    }
    const timeout = checkPositiveInteger(owner, 'sessionAffinityTimeoutSeconds', props.sessionAffinityTimeoutSeconds ?? 10800);
    if (timeout > 86400) throw new Error(`${owner}: invalid sessionAffinityTimeoutSeconds ${timeout}: Kubernetes allows at most 86400`);
    const trafficPolicy = props.externalTrafficPolicy;
    if (trafficPolicy !== undefined && trafficPolicy !== 'Cluster' && trafficPolicy !== 'Local')
      throw new Error(`${owner}: invalid externalTrafficPolicy ${JSON.stringify(trafficPolicy)}: use 'Cluster' or 'Local'`);
    const affinity = props.podName === undefined && props.daemon.replicas > 1;
    this.resource = new KubeService(this, 'Resource', {
      metadata: { name: this.name, labels: { ...props.daemon.selectorLabels, ...MANAGED_BY }, annotations },
      spec: {
        type: 'LoadBalancer',
        externalTrafficPolicy: trafficPolicy,
        sessionAffinity: affinity ? 'ClientIP' : undefined,
        sessionAffinityConfig: affinity ? { clientIp: { timeoutSeconds: timeout } } : undefined,
        selector,
        ports: [{ name: 'buildkitd', port: this.port, targetPort: IntOrString.fromString('buildkitd'), protocol: 'TCP' }],
      },
    });
  }
}
