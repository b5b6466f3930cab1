import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BuildkitChartProps } from '../lib';
import { init } from '../lib/certs/commands';
import { APPLY_VERBS, READ_VERBS, resourceOf } from '../lib/delivery-access';
import { synthRepository } from '../lib/repository';
import { certsContext } from './support/certs';
import { isNamespaced } from './support/crd';
import { readManifests } from './support/dist';
import { keyPool } from './support/keys';
import { allowed, type Subject } from './support/rbac';

// Delivery with least privilege: for whole repositories (certs init, then npm run synth), the set of
// (group, kind, namespace) in dist/ and secrets/apps is exactly what the Flux identity may apply and what the
// Argo CD project admits; nothing else is granted, and no rule has a wildcard.

const FLUX: Subject = { kind: 'ServiceAccount', name: 'buildkit-delivery', namespace: 'flux-system' };

/**
 * Whether an Argo CD project lets its Applications sync an object, as Argo CD (3.2 and later) decides it: a
 * namespaced object by its namespace and kind; a cluster-scoped one by kind and, where an entry names one, by
 * name (a glob pattern to Argo CD; an exact name here, since no Kubernetes name holds a glob character).
 */
function argoPermits(project: any, o: any): boolean {
  const group = groupOf(o.apiVersion);
  const ofKind = (list: any[] = []) => list.filter((k) => k.group === group && k.kind === o.kind);
  if (isNamespaced(o)) {
    return (
      ofKind(project.spec.namespaceResourceWhitelist).length > 0 &&
      project.spec.destinations.some((d: any) => d.namespace === o.metadata.namespace)
    );
  }
  return ofKind(project.spec.clusterResourceWhitelist).some((k) => k.name === undefined || k.name === o.metadata.name);
}
const newKeyPair = keyPool(4);
const groupOf = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.split('/')[0] : '');

interface Repository {
  delivered: any[];
  dist: any[];
  gitops: any[];
}

async function repository(settings: BuildkitChartProps): Promise<Repository> {
  const root = mkdtempSync(join(tmpdir(), 'buildkit-delivery-'));
  try {
    await init(certsContext(join(root, 'secrets'), settings, { newKeyPair }));
    synthRepository({ root, config: settings });
    const dist = readManifests(join(root, 'dist'));
    return {
      dist,
      delivered: [...dist, ...readManifests(join(root, 'secrets', 'apps'))],
      gitops: readManifests(join(root, 'gitops', 'dist')),
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const CASES: Array<[string, BuildkitChartProps]> = [
  ['the seed', {}],
  [
    'everything: CI runners elsewhere, StatefulSet, claims, the registry cache, monitoring, hardened mode, a native builder',
    {
      clientNamespace: 'ci',
      workload: 'statefulset',
      replicas: 2,
      cache: { persistent: true },
      registryCache: { size: '20Gi', persistent: true },
      metrics: { serviceMonitor: true, alerts: {}, dashboard: {} },
      podSecurity: 'baseline',
      architecture: 'amd64',
      nativeBuilders: [{ architecture: 'arm64', loadBalancerIP: '192.168.80.111' }],
    },
  ],
];

describe.each(CASES)('%s', (_name, settings) => {
  let repo: Repository;
  beforeAll(async () => {
    repo = await repository(settings);
  }, 120_000);
  const rbac = () => repo.gitops.filter((o) => o.apiVersion === 'rbac.authorization.k8s.io/v1');

  test('Flux may apply, prune and correct every delivered object, and cluster-scoped ones only by name', () => {
    const missing: string[] = [];
    for (const o of repo.delivered) {
      // The scope the API server authorizes in is its kind's, whatever the manifest says.
      const request = {
        group: groupOf(o.apiVersion),
        resource: resourceOf(o.kind),
        namespace: isNamespaced(o) ? o.metadata.namespace : undefined,
        name: o.metadata.name,
      };
      const verbs = isNamespaced(o) ? APPLY_VERBS : ['get', 'patch'];
      for (const verb of verbs) if (!allowed(rbac(), FLUX, { ...request, verb })) missing.push(`${verb} ${o.kind}/${o.metadata.name}`);
    }
    expect(missing).toEqual([]);
    expect(repo.delivered.filter((o) => o.kind === 'Secret').length).toBeGreaterThanOrEqual(2);
  });

  test('and nothing more: no wildcard, no kind or namespace beyond what is delivered, reads only for health checks', () => {
    const delivered = new Set(
      repo.delivered.map((o) => JSON.stringify([o.metadata.namespace ?? null, groupOf(o.apiVersion), resourceOf(o.kind)])),
    );
    const workloads = new Set(
      repo.delivered.filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind)).map((o) => o.metadata.namespace),
    );
    const extra: string[] = [];
    for (const role of rbac().filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole')) {
      for (const rule of role.rules) {
        expect(JSON.stringify(rule)).not.toContain('*');
        for (const group of rule.apiGroups)
          for (const resource of rule.resources) {
            const scope = role.kind === 'Role' ? role.metadata.namespace : null;
            const isDelivered = delivered.has(JSON.stringify([scope, group, resource]));
            const isHealthRead =
              workloads.has(scope) && ['/pods', 'apps/replicasets'].includes(`${group}/${resource}`) && `${rule.verbs}` === `${READ_VERBS}`;
            if (!isDelivered && !isHealthRead) extra.push(`${role.kind} ${scope}: ${rule.verbs} ${group}/${resource}`);
          }
        if (role.kind === 'ClusterRole') {
          expect(rule.verbs).toEqual(['get', 'patch']);
          expect(rule.resourceNames.length).toBeGreaterThan(0);
        }
      }
    }
    expect(extra).toEqual([]);
  });

  test('what a branch write cannot make it do', () => {
    const denied = [
      { verb: 'get', group: '', resource: 'secrets', namespace: 'kube-system' },
      { verb: 'create', group: '', resource: 'namespaces', name: 'evil' },
      { verb: 'delete', group: '', resource: 'namespaces', name: 'buildkit' },
      { verb: 'patch', group: '', resource: 'namespaces', name: 'kube-system' },
      { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'rolebindings', namespace: 'buildkit' },
      { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' },
      { verb: 'create', group: '', resource: 'pods', namespace: 'buildkit' },
      { verb: 'create', group: 'apps', resource: 'daemonsets', namespace: 'buildkit' },
      { verb: 'create', group: 'apps', resource: 'deployments', namespace: 'default' },
    ];
    expect(denied.filter((r) => allowed(rbac(), FLUX, r))).toEqual([]);
  });

  test('both Kustomizations impersonate that ServiceAccount, which the bootstrap creates beside them', () => {
    const kustomizations = repo.gitops.filter((o) => o.kind === 'Kustomization');
    expect(kustomizations.map((k) => [k.metadata.namespace, k.spec.serviceAccountName])).toEqual([
      [FLUX.namespace, FLUX.name],
      [FLUX.namespace, FLUX.name],
    ]);
    const account = repo.gitops.find((o) => o.kind === 'ServiceAccount');
    expect(account.metadata).toMatchObject({ name: FLUX.name, namespace: FLUX.namespace });
    const namespaces = new Set(repo.delivered.flatMap((o) => (o.metadata.namespace ? [o.metadata.namespace] : [])));
    expect(
      repo.gitops
        .filter((o) => o.kind === 'Namespace')
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual([...namespaces].sort());
  });

  test('Flux and Argo CD never prune a cluster-scoped object (the identity may not delete it), and prune every other', () => {
    // A renamed namespace leaves the old Namespace behind: pruning it would fail every reconcile (Flux) or
    // delete all in it (Argo CD). Workloads must still be pruned: switching kind replaces one with the other.
    // Per object: whether Flux and Argo CD each leave it; every cluster-scoped one kept by both, no other by either.
    const leftBy = (o: any) => [
      o.metadata.annotations?.['kustomize.toolkit.fluxcd.io/prune'] === 'disabled',
      o.metadata.annotations?.['argocd.argoproj.io/sync-options'] === 'Prune=false',
    ];
    const clusterScoped = repo.dist.filter((o) => !isNamespaced(o));
    const expected = (o: any) => (isNamespaced(o) ? [false, false] : [true, true]);
    expect(repo.dist.map((o) => [`${o.kind}/${o.metadata.name}`, ...leftBy(o)])).toEqual(
      repo.dist.map((o) => [`${o.kind}/${o.metadata.name}`, ...expected(o)]),
    );
    // Nothing in the identity's rules could delete them anyway.
    for (const o of clusterScoped) {
      const request = { group: groupOf(o.apiVersion), resource: resourceOf(o.kind), name: o.metadata.name, verb: 'delete' };
      expect(allowed(rbac(), FLUX, request)).toBe(false);
    }
  });

  test('the bootstrap creates every cluster-scoped object Flux delivers, as dist/ holds it, since Flux may not', () => {
    const clusterScoped = repo.delivered.filter((o) => !isNamespaced(o));
    const created = (o: any) => repo.gitops.find((b) => b.kind === o.kind && b.metadata.name === o.metadata.name);
    expect(clusterScoped.filter((o) => !created(o)).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
    for (const o of clusterScoped.filter((c) => c.kind !== 'Namespace')) expect(created(o)).toEqual(o);
    expect(clusterScoped.some((o) => o.kind === 'SeccompProfile')).toBe(settings.podSecurity === 'baseline');
  });

  test('the Argo CD project admits this repository, the namespaces and the kinds dist/ holds, and no more', () => {
    const project = repo.gitops.find((o) => o.kind === 'AppProject');
    const application = repo.gitops.find((o) => o.kind === 'Application');
    expect(application.spec.project).toBe(project.metadata.name);
    expect(project.spec.sourceRepos).toEqual([application.spec.source.repoURL]);
    const kinds = (objects: any[]) => [...new Set(objects.map((o) => `${groupOf(o.apiVersion)}/${o.kind}`))].sort();
    const whitelist = (list: any[]) => [...new Set(list.map((k) => `${k.group}/${k.kind}`))].sort();
    expect(whitelist(project.spec.namespaceResourceWhitelist)).toEqual(kinds(repo.dist.filter(isNamespaced)));
    expect(whitelist(project.spec.clusterResourceWhitelist)).toEqual(kinds(repo.dist.filter((o) => !isNamespaced(o))));
    expect(project.spec.destinations.map((d: any) => d.namespace)).toEqual([
      ...new Set(repo.dist.flatMap((o) => (o.metadata.namespace ? [o.metadata.namespace] : []))),
    ]);
    expect(JSON.stringify(project.spec)).not.toContain('*');
    // Each object dist/ holds, and no other cluster-scoped one: not another Namespace (a branch write could
    // otherwise adopt it, relabel its Pod Security, and prune it), not another SeccompProfile.
    expect(repo.dist.filter((o) => !argoPermits(project, o)).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
    const others = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `${repo.dist.find((o) => o.kind === 'Namespace').metadata.name}-x` } },
      { apiVersion: 'security-profiles-operator.x-k8s.io/v1beta1', kind: 'SeccompProfile', metadata: { name: 'other-rootless' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'kube-system' } },
    ];
    expect(others.filter((o) => argoPermits(project, o))).toEqual([]);
  });
});

test("resourceOf follows Kubernetes' plural guess", () => {
  expect(['NetworkPolicy', 'Ingress', 'Deployment', 'Gateway', 'PodDisruptionBudget', 'Service', 'Rayfly'].map(resourceOf)).toEqual([
    'networkpolicies',
    'ingresses',
    'deployments',
    'gateways',
    'poddisruptionbudgets',
    'services',
    'rayflies', // only the last two letters decide
  ]);
});

describe('the pieces, on hand-made kinds', () => {
  const { Testing } = require('cdk8s');
  const { ArgoCdProject, deliveredKinds, FluxDeliveryIdentity } = require('../lib');
  const object = (apiVersion: string, kind: string, name: string, namespace?: string) => ({
    apiVersion,
    kind,
    metadata: { name, namespace },
  });

  test('deliveredKinds: one entry per (group, kind, namespace), cluster-scoped first with their names sorted, then by namespace, group, kind', () => {
    const kinds = deliveredKinds([
      object('apps/v1', 'Deployment', 'b', 'z-ns'),
      object('v1', 'Service', 'a', 'z-ns'),
      object('v1', 'Namespace', 'z-ns'),
      object('apps/v1', 'Deployment', 'a', 'z-ns'),
      object('networking.k8s.io/v1', 'NetworkPolicy', 'p', 'a-ns'),
      object('v1', 'Namespace', 'a-ns'),
      object('v1', 'ConfigMap', 'c', 'a-ns'),
    ]);
    expect(kinds).toEqual([
      { group: '', kind: 'Namespace', namespace: undefined, names: ['a-ns', 'z-ns'] },
      { group: '', kind: 'ConfigMap', namespace: 'a-ns' },
      { group: 'networking.k8s.io', kind: 'NetworkPolicy', namespace: 'a-ns' },
      { group: '', kind: 'Service', namespace: 'z-ns' },
      { group: 'apps', kind: 'Deployment', namespace: 'z-ns' },
    ]);
  });

  test('the Flux identity reads pods and ReplicaSets once, only what it does not apply, and needs no ClusterRole without cluster-scoped kinds', () => {
    const chart = Testing.chart();
    new FluxDeliveryIdentity(chart, 'F', {
      kinds: [
        { group: 'apps', kind: 'Deployment', namespace: 'ns' },
        { group: 'apps', kind: 'StatefulSet', namespace: 'ns' },
        { group: 'apps', kind: 'ReplicaSet', namespace: 'ns' },
      ],
    });
    const objects = Testing.synth(chart);
    const role = objects.find((o: any) => o.kind === 'Role');
    expect(role.rules).toEqual([
      {
        apiGroups: ['apps'],
        resources: ['deployments', 'replicasets', 'statefulsets'],
        verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      },
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
    ]);
    expect(objects.map((o: any) => o.kind).sort()).toEqual(['Namespace', 'Role', 'RoleBinding', 'ServiceAccount']);
    expect(() => new FluxDeliveryIdentity(Testing.chart(), 'G', { kinds: [], name: 'Bad_Name' })).toThrow(
      /^FluxDeliveryIdentity: invalid name "Bad_Name"/,
    );
  });

  test('the Argo CD project admits cluster-scoped objects by name, sorted; by kind alone for Argo CD before 3.2', () => {
    const kinds = [
      { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole', names: ['reader'] },
      { group: '', kind: 'Namespace', names: ['b-ns', 'a-ns'] },
      { group: 'security-profiles-operator.x-k8s.io', kind: 'SeccompProfile', names: ['a-ns-rootless'] },
      { group: 'apps', kind: 'Deployment', namespace: 'a-ns' },
      // Hand-made, without the names deliveredKinds gives: admitted by no name, so by nothing.
      { group: 'storage.k8s.io', kind: 'StorageClass' },
    ];
    const project = (clusterResourceNames?: boolean) => {
      const chart = Testing.chart();
      new ArgoCdProject(chart, 'P', { repoURL: 'https://git.example.com/a.git', kinds, clusterResourceNames });
      return Testing.synth(chart)[0];
    };
    // Sorted by group first: the core group's Namespace before rbac's ClusterRole, though C sorts before N.
    const byName = [
      { group: '', kind: 'Namespace', name: 'a-ns' },
      { group: '', kind: 'Namespace', name: 'b-ns' },
      { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'reader' },
      { group: 'security-profiles-operator.x-k8s.io', kind: 'SeccompProfile', name: 'a-ns-rootless' },
    ];
    expect([project().spec.clusterResourceWhitelist, project(true).spec.clusterResourceWhitelist]).toEqual([byName, byName]);
    const byKind = project(false);
    expect(byKind.spec.clusterResourceWhitelist).toEqual([
      { group: '', kind: 'Namespace' },
      { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
      { group: 'security-profiles-operator.x-k8s.io', kind: 'SeccompProfile' },
      { group: 'storage.k8s.io', kind: 'StorageClass' },
    ]);
    const other = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } };
    expect([argoPermits(project(), other), argoPermits(byKind, other)]).toEqual([false, true]);
  });

  test('the Argo CD project lists each kind once, sorted by group and kind', () => {
    const chart = Testing.chart();
    new ArgoCdProject(chart, 'P', {
      repoURL: 'https://git.example.com/a.git',
      kinds: [
        { group: 'apps', kind: 'Deployment', namespace: 'b' },
        { group: '', kind: 'Service', namespace: 'b' },
        { group: 'apps', kind: 'Deployment', namespace: 'a' },
        { group: '', kind: 'ConfigMap', namespace: 'a' },
      ],
    });
    const [project] = Testing.synth(chart);
    expect(project.spec.namespaceResourceWhitelist).toEqual([
      { group: '', kind: 'ConfigMap' },
      { group: '', kind: 'Service' },
      { group: 'apps', kind: 'Deployment' },
    ]);
    expect(project.spec.destinations.map((d: any) => d.namespace)).toEqual(['a', 'b']);
    expect(project.spec.clusterResourceWhitelist).toEqual([]);
    expect(project.metadata.name).toBe('buildkit');
    expect(() => new ArgoCdProject(Testing.chart(), 'Q', { repoURL: 'https://x.example/a.git', kinds: [], name: 'A B' })).toThrow(
      /^ArgoCdProject: invalid name "A B"/,
    );
    expect(() => new ArgoCdProject(Testing.chart(), 'R', { repoURL: 'ftp://x', kinds: [] })).toThrow(
      /^ArgoCdProject: invalid repoURL "ftp:\/\/x"/,
    );
  });
});
