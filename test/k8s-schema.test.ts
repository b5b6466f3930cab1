import { join } from 'node:path';
import { synthChart } from './support/chart';
import { isNamespaced, validateCustomResources } from './support/crd';
import { isCustomResource as isCustom, OUTPUTS, ROOT, readManifests } from './support/dist';
import { loadValidator } from './support/k8s-schema';

// The seed's chart, whatever config.ts says; the committed outputs are among the variants below.
const seed = synthChart({});
const variants: Record<string, any[]> = {
  ...Object.fromEntries(OUTPUTS.map((dist) => [`committed ${dist}/`, readManifests(join(ROOT, dist))])),
  "the seed's defaults": seed,
  'Longhorn cache': synthChart({ cache: { persistent: true, size: '100Gi' } }),
  'StatefulSet HA with per-replica IPs, metrics, NetworkPolicy, native arm64': synthChart({
    replicas: 3,
    workload: 'statefulset',
    cache: { persistent: true },
    perReplicaIPs: ['10.0.0.1', '10.0.0.2', '10.0.0.3'],
    metrics: {},
    networkPolicy: { allowedNamespaces: ['ci'] },
    clientNamespace: 'ci',
    externalTrafficPolicy: 'Local',
    architecture: 'amd64',
    nativeBuilders: [{ architecture: 'arm64', loadBalancerIP: '10.0.0.9' }],
  }),
  'Deployment with replicas, budget and spread': synthChart({ replicas: 2, drainTimeoutSeconds: 60 }),
  'legacy annotations, custom everything': synthChart({
    legacyAppArmorAnnotation: true,
    legacyMetallbAnnotations: true,
    addressPool: 'internal',
    namespace: 'ci',
    replicas: 3,
    port: 8443,
    resources: { limits: { cpu: '4' } },
    image: `moby/buildkit@sha256:${'a'.repeat(64)}`,
    imageIsRootless: true,
  }),
};

describe.each(['1.30.0', '1.35.0'])('every object validates strictly against Kubernetes %s', (version) => {
  const validator = loadValidator(version);

  test.each(Object.keys(variants))('%s', (variant) => {
    expect(variants[variant].length).toBeGreaterThan(0);
    expect(variants[variant].filter((m) => !isCustom(m)).flatMap((m) => validator.validate(m))).toEqual([]);
  });

  test('the validator rejects what the API server would: unknown fields, bad quantities, wrong types, duplicate ports', () => {
    const deployment = structuredClone(seed.find((m) => m.kind === 'Deployment'));
    const container = deployment.spec.template.spec.containers[0];
    container.securityContext.appArmourProfile = { type: 'Unconfined' };
    container.resources.limits.memory = '8GB';
    container.ports.push({ ...container.ports[0] });
    deployment.spec.replicas = '1';
    const errors = validator.validate(deployment).join('\n');
    expect(errors).toContain('(appArmourProfile)');
    expect(errors).toContain('/resources/limits/memory');
    expect(errors).toContain('/spec/replicas: must be integer');
    expect(errors).toContain('/containers/0/ports');
    expect(validator.validate({ apiVersion: 'v1', kind: 'Nonsense', metadata: { name: 'x' } })).toEqual([
      expect.stringContaining('no schema'),
    ]);
  });
});

test('the 1.30 schema knows appArmorProfile: the field the chart relies on is real', () => {
  const deployment = seed.find((m) => m.kind === 'Deployment');
  expect(deployment.spec.template.spec.containers[0].securityContext.appArmorProfile).toEqual({ type: 'Unconfined' });
  expect(loadValidator('1.30.0').validate(deployment)).toEqual([]);
});

test('custom resources in the committed outputs validate against their CRD schemas', () => {
  const custom = OUTPUTS.flatMap((dist) => readManifests(join(ROOT, dist))).filter(isCustom);
  expect(custom.map((m) => m.kind)).toEqual(expect.arrayContaining(['Application', 'Kustomization', 'Kustomization', 'ServiceMonitor']));
  expect(validateCustomResources(custom)).toEqual([]);
});

test('every object names a namespace exactly when the API server keeps one for its kind (SeccompProfile: Cluster, by its CRD)', () => {
  const all = [
    ...Object.values(variants).flat(),
    ...synthChart({ podSecurity: 'baseline', namespace: 'team-builds' }),
    ...synthChart({ podSecurity: 'baseline', seccompProfile: { install: 'node' } }),
  ];
  const misplaced = all
    .filter((m) => (m.metadata.namespace !== undefined) !== isNamespaced(m))
    .map((m) => `${m.kind}/${m.metadata.name} in ${m.metadata.namespace ?? 'no namespace'}`);
  expect(misplaced).toEqual([]);
  expect(all.filter((m) => !isNamespaced(m)).map((m) => m.kind)).toEqual(
    expect.arrayContaining(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'SeccompProfile']),
  );
});
