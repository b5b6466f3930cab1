import type { Construct } from 'constructs';
import {
  type Container,
  IntOrString,
  KubeDeployment,
  type KubePersistentVolumeClaimProps,
  KubePodDisruptionBudget,
  KubeService,
  KubeStatefulSet,
  type PodTemplateSpec,
  type Volume,
} from '../../imports/k8s';
import { NON_ROOT_POD, STARTUP_SECONDS } from './container';
import type { PodScheduling } from './scheduling';

/** What the daemon's pods and their controller are made of. */
export interface DaemonWorkloadInputs {
  readonly name: string;
  readonly kind: 'deployment' | 'statefulset';
  readonly replicas: number;
  readonly port: number;
  /** The daemon's debug (metrics) port, which it binds too. */
  readonly metricsPort?: number;
  readonly labels: Record<string, string>;
  readonly selectorLabels: Record<string, string>;
  readonly podAnnotations: Record<string, string>;
  readonly scheduling: PodScheduling;
  readonly drainSeconds: number;
  /** The daemon's container first, then any beside it. */
  readonly containers: Container[];
  readonly volumes: Volume[];
  /** A persistent RWO cache: one pod at a time may mount it. */
  readonly exclusiveCache: boolean;
  /** The StatefulSet's per-replica cache claim. */
  readonly claimTemplate?: KubePersistentVolumeClaimProps;
}

/**
 * The rootless daemon binds as a user without NET_BIND_SERVICE, so a port under 1024 needs the pod's network
 * namespace to lower ip_unprivileged_port_start to it: a namespaced sysctl that Kubernetes counts as safe and
 * Pod Security baseline admits. Only as far as the lowest port the daemon binds.
 */
function portSysctls(ports: readonly number[]) {
  const lowest = Math.min(...ports);
  return lowest < 1024 ? [{ name: 'net.ipv4.ip_unprivileged_port_start', value: String(lowest) }] : undefined;
}

/** How long a stopping pod may take: its drain, and 30 s for the daemon to stop after it. */
const terminationGrace = (w: DaemonWorkloadInputs) => w.drainSeconds + 30;

/**
 * The longest a rollout may take with nothing wrong: pods are replaced one at a time, each given the startup
 * probe's budget; a StatefulSet's and a Recreate Deployment's new pod also waits for the old one's drain.
 */
function rolloutSeconds(w: DaemonWorkloadInputs): number {
  // A Recreate Deployment has one pod: its exclusive cache allows no more.
  const waitsForDrain = w.kind === 'statefulset' || w.exclusiveCache;
  return w.replicas * (STARTUP_SECONDS + (waitsForDrain ? terminationGrace(w) : 0));
}

function podTemplate(w: DaemonWorkloadInputs): PodTemplateSpec {
  const spread =
    w.replicas > 1
      ? [
          {
            maxSkew: 1,
            topologyKey: 'kubernetes.io/hostname',
            whenUnsatisfiable: 'ScheduleAnyway',
            labelSelector: { matchLabels: w.selectorLabels },
          },
        ]
      : undefined;
  return {
    metadata: { labels: w.labels, annotations: w.podAnnotations },
    spec: {
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: terminationGrace(w),
      nodeSelector: w.scheduling.nodeSelector,
      tolerations: w.scheduling.tolerations,
      topologySpreadConstraints: spread,
      securityContext: { ...NON_ROOT_POD, sysctls: portSysctls(w.metricsPort === undefined ? [w.port] : [w.port, w.metricsPort]) },
      containers: w.containers,
      volumes: w.volumes,
    },
  };
}

/**
 * The daemon's controller in `scope`: a Deployment, or a StatefulSet with its governing headless Service;
 * with more than one replica, a PodDisruptionBudget that lets drains take one builder at a time.
 */
export function daemonWorkload(
  scope: Construct,
  w: DaemonWorkloadInputs,
): { workload: KubeDeployment | KubeStatefulSet; headlessService?: KubeService; rolloutSeconds: number } {
  const metadata = { name: w.name, labels: w.labels };
  const selector = { matchLabels: w.selectorLabels };
  const template = podTemplate(w);
  const rollout = rolloutSeconds(w);
  const headlessService =
    w.kind === 'statefulset'
      ? new KubeService(scope, 'Headless', {
          metadata: { name: `${w.name}-headless`, labels: w.labels },
          spec: {
            clusterIp: 'None',
            selector: w.selectorLabels,
            ports: [{ name: 'buildkitd', port: w.port, targetPort: IntOrString.fromString('buildkitd'), protocol: 'TCP' }],
          },
        })
      : undefined;
  const workload = headlessService
    ? new KubeStatefulSet(scope, 'Resource', {
        metadata,
        spec: {
          replicas: w.replicas,
          serviceName: headlessService.name,
          // Replicas are independent builders: start and stop them together.
          podManagementPolicy: 'Parallel',
          selector,
          template,
          volumeClaimTemplates: w.claimTemplate ? [w.claimTemplate] : undefined,
        },
      })
    : new KubeDeployment(scope, 'Resource', {
        metadata,
        spec: {
          replicas: w.replicas,
          selector,
          // Recreate waits out the old pod's drain without progress: past the default 600 s, the Deployment
          // would report ProgressDeadlineExceeded while nothing is wrong.
          progressDeadlineSeconds: w.exclusiveCache && rollout > 600 ? rollout : undefined,
          // A persistent RWO cache cannot be mounted by a surge pod, and two daemons must never share it.
          strategy: w.exclusiveCache
            ? { type: 'Recreate' }
            : { type: 'RollingUpdate', rollingUpdate: { maxSurge: IntOrString.fromNumber(1), maxUnavailable: IntOrString.fromNumber(0) } },
          template,
        },
      });
  if (w.replicas > 1) {
    // Voluntary disruptions (node drains) take one builder at a time.
    new KubePodDisruptionBudget(scope, 'Budget', {
      metadata: { name: w.name, labels: w.labels },
      spec: { maxUnavailable: IntOrString.fromNumber(1), selector },
    });
  }
  return { workload, headlessService, rolloutSeconds: rollout };
}
