import { Chart, JsonPatch } from 'cdk8s';
import { Construct } from 'constructs';
import { KubeNamespace } from '../imports/k8s';
import { BuildkitDaemon, DaemonResources } from './buildkit-daemon';
import { BuildkitService } from './buildkit-service';
import { CacheVolume, CacheVolumeProps } from './cache-volume';
import { MANAGED_BY } from './labels';
import { Endpoint, SEED } from './settings';
import { TlsBundle } from './tls-bundle';
import { checkDnsLabel, checkDnsSubdomain } from './validation';

export interface BuildkitChartProps {
  /**
   * Namespace of every object; the chart creates it.
   * @default 'buildkit'
   */
  readonly namespace?: string;

  /**
   * Name of the workload and its Service.
   * @default 'buildkitd'
   */
  readonly name?: string;

  /**
   * Number of daemons.
   * @default 1
   */
  readonly replicas?: number;

  /**
   * Rootless BuildKit image, pinned to a release.
   * @default 'moby/buildkit:v0.27.1-rootless'
   */
  readonly image?: string;

  /**
   * The Service's MetalLB address.
   * @default '192.168.80.110'
   */
  readonly loadBalancerIP?: string;

  /**
   * Port of the daemon and the Service.
   * @default 1234
   */
  readonly port?: number;

  /**
   * The cache volume.
   * @default - ephemeral, 50Gi
   */
  readonly cache?: CacheVolumeProps;

  /**
   * Container resources.
   * @default - requests 500m CPU and 1Gi memory, limit 8Gi memory
   */
  readonly resources?: DaemonResources;

  /**
   * Cluster DNS domain, for the names the server certificate must cover.
   * @default 'cluster.local'
   */
  readonly clusterDomain?: string;

  /**
   * The daemon's certificate Secret.
   * @default 'buildkit-daemon-certs'
   */
  readonly certSecretName?: string;

  /**
   * Changes whenever the certificates change; rolls the pods (see TlsBundleProps.revision).
   * @default - only a change of certSecretName rolls the pods
   */
  readonly certRevision?: string;

  /**
   * MetalLB address pool.
   * @default - MetalLB picks the pool that holds the IP
   */
  readonly addressPool?: string;

  /**
   * MetalLB's pre-0.14 `metallb.universe.tf/` annotations.
   * @default false
   */
  readonly legacyMetallbAnnotations?: boolean;

  /**
   * The AppArmor annotation instead of the field, for Kubernetes < 1.30.
   * @default false
   */
  readonly legacyAppArmorAnnotation?: boolean;
}

/** The whole service: namespace, certificates, cache, daemon and LoadBalancer, with the seed's defaults. */
export class BuildkitChart extends Chart {
  public readonly daemon: BuildkitDaemon;
  public readonly service: BuildkitService;
  public readonly endpoint: Endpoint;

  constructor(scope: Construct, id: string, props: BuildkitChartProps = {}) {
    const namespace = checkDnsLabel('BuildkitChart', 'namespace', props.namespace ?? SEED.namespace);
    super(scope, id, { namespace });

    const ns = new KubeNamespace(this, 'Namespace', {
      metadata: {
        name: namespace,
        labels: {
          ...MANAGED_BY,
          // Rootless BuildKit needs Unconfined seccomp and AppArmor, which the "baseline" and "restricted"
          // levels forbid. The namespace holds only the daemon, so "privileged" widens nothing else.
          'pod-security.kubernetes.io/enforce': 'privileged',
          'pod-security.kubernetes.io/audit': 'privileged',
          'pod-security.kubernetes.io/warn': 'privileged',
        },
      },
    });
    // cdk8s gives every object the chart's namespace; a Namespace is cluster-scoped and must not carry one.
    ns.addJsonPatch(JsonPatch.remove('/metadata/namespace'));

    const tls = new TlsBundle(this, 'Tls', { secretName: props.certSecretName, revision: props.certRevision });
    const cache = new CacheVolume(this, 'Cache', props.cache);
    this.daemon = new BuildkitDaemon(this, 'Daemon', {
      name: props.name,
      image: props.image,
      replicas: props.replicas,
      port: props.port,
      resources: props.resources,
      tls,
      cache,
      legacyAppArmorAnnotation: props.legacyAppArmorAnnotation,
    });
    this.service = new BuildkitService(this, 'Service', {
      daemon: this.daemon,
      loadBalancerIP: props.loadBalancerIP,
      addressPool: props.addressPool,
      legacyMetallbAnnotations: props.legacyMetallbAnnotations,
    });
    this.endpoint = {
      name: this.service.name,
      namespace,
      clusterDomain: checkDnsSubdomain('BuildkitChart', 'clusterDomain', props.clusterDomain ?? SEED.clusterDomain),
      ips: [this.service.loadBalancerIP],
      port: this.service.port,
    };
  }
}
