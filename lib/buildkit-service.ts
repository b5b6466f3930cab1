import { Construct } from 'constructs';
import { IntOrString, KubeService } from '../imports/k8s';
import { BuildkitDaemon } from './buildkit-daemon';
import { MANAGED_BY } from './labels';
import { SEED } from './settings';
import { checkDnsLabel, checkIPv4, checkPort } from './validation';

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
   * MetalLB address pool to take the IP from.
   * @default - MetalLB picks the pool that holds the IP
   */
  readonly addressPool?: string;

  /**
   * Use MetalLB's `metallb.universe.tf/` annotations (MetalLB before 0.14) instead of `metallb.io/`.
   * @default false
   */
  readonly legacyMetallbAnnotations?: boolean;
}

/**
 * The `buildkitd` LoadBalancer. Plain L4: one build session is one HTTP/2 connection, which stays on the
 * pod it reached; TLS ends in buildkitd, never at the balancer.
 */
export class BuildkitService extends Construct {
  public readonly name: string;
  public readonly port: number;
  public readonly loadBalancerIP: string;
  public readonly resource: KubeService;

  constructor(scope: Construct, id: string, props: BuildkitServiceProps) {
    super(scope, id);
    this.name = checkDnsLabel('BuildkitService', 'name', props.name ?? props.daemon.name);
    this.port = checkPort('BuildkitService', 'port', props.port ?? props.daemon.port);
    this.loadBalancerIP = checkIPv4('BuildkitService', 'loadBalancerIP', props.loadBalancerIP ?? SEED.loadBalancerIP);
    // spec.loadBalancerIP is deprecated since Kubernetes 1.24; MetalLB reads its own annotation.
    const prefix = props.legacyMetallbAnnotations ? 'metallb.universe.tf' : 'metallb.io';
    const annotations: Record<string, string> = { [`${prefix}/loadBalancerIPs`]: this.loadBalancerIP };
    if (props.addressPool !== undefined) {
      annotations[`${prefix}/address-pool`] = checkDnsLabel('BuildkitService', 'addressPool', props.addressPool);
    }
    this.resource = new KubeService(this, 'Resource', {
      metadata: { name: this.name, labels: { ...props.daemon.selectorLabels, ...MANAGED_BY }, annotations },
      spec: {
        type: 'LoadBalancer',
        selector: props.daemon.selectorLabels,
        ports: [{ name: 'buildkitd', port: this.port, targetPort: IntOrString.fromString('buildkitd'), protocol: 'TCP' }],
      },
    });
  }
}
