import { join } from 'node:path';
import { BuildkitChart, type BuildkitChartProps, runSynth } from '../../lib';

/**
 * High availability: three daemons in a StatefulSet, each with its own 100Gi Longhorn cache and its own
 * MetalLB address for CI jobs that pin a repository to one warm cache, plus the shared address with
 * ClientIP affinity; metrics with a ServiceMonitor; ingress limited by a NetworkPolicy that sees client
 * addresses (externalTrafficPolicy Local); Docker Hub pulls through a pull-through cache.
 */
export const haSettings: BuildkitChartProps = {
  replicas: 3,
  workload: 'statefulset',
  cache: { persistent: true, size: '100Gi', storageClassName: 'longhorn' },
  loadBalancerIP: '192.168.80.110',
  perReplicaIPs: ['192.168.80.111', '192.168.80.112', '192.168.80.113'],
  externalTrafficPolicy: 'Local',
  resources: { requests: { cpu: '2', memory: '4Gi' }, limits: { memory: '16Gi' } },
  metrics: { serviceMonitor: true, monitoringNamespace: 'monitoring', dashboard: {}, alerts: {} },
  networkPolicy: { allowedCidrs: ['192.168.0.0/16', '10.0.0.0/8'] },
  // Docker Hub through a pull-through cache: warm base images for every replica, no rate limit per build.
  registryCache: { size: '100Gi', persistent: true, credentialsSecret: 'dockerhub-credentials' },
};

runSynth(join(__dirname, 'dist'), (app) => new BuildkitChart(app, 'buildkit', haSettings));
