import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { ROOT } from './dist';

/** Errors of custom resources against their CRD schemas (see crd-validate.mjs); empty when all are valid. */
export function validateCustomResources(manifests: any[]): string[] {
  const out = execFileSync('node', [join(__dirname, 'crd-validate.mjs')], {
    cwd: ROOT,
    input: JSON.stringify(manifests),
    encoding: 'utf8',
  });
  return JSON.parse(out);
}

/** Kubernetes' own cluster-scoped kinds (`kubectl api-resources --namespaced=false`) that a chart could hold. */
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PersistentVolume', 'StorageClass', 'PriorityClass']);
const SECCOMP_PROFILE_CRD = load(
  readFileSync(join(__dirname, '..', 'fixtures', 'security-profiles-operator', 'seccompprofile-crd.yaml'), 'utf8'),
) as { spec: { scope: 'Namespaced' | 'Cluster' } };

/**
 * Whether the API server keeps objects of this kind in a namespace: Kubernetes' own kinds, the SeccompProfile
 * by its CRD's scope; Flux's, Argo CD's and the Prometheus Operator's kinds are namespaced.
 */
export function isNamespaced(m: { kind: string }): boolean {
  if (m.kind === 'SeccompProfile') return SECCOMP_PROFILE_CRD.spec.scope === 'Namespaced';
  return !CLUSTER_SCOPED.has(m.kind);
}
