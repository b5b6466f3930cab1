import { ApiObject, type ApiObjectProps } from 'cdk8s';
import { Construct } from 'constructs';
import {
  KubeClusterRole,
  KubeClusterRoleBinding,
  KubeNamespace,
  KubeRole,
  KubeRoleBinding,
  KubeServiceAccount,
  type PolicyRule,
} from '../imports/k8s';
import { APPLY_VERBS, type DeliveredKind, HEALTH_CHECK_READS, READ_VERBS, resourceOf } from './delivery-access';
import { MANAGED_BY } from './labels';
import { checkDnsLabel } from './validation';

export interface FluxDeliveryIdentityProps {
  /** What its Kustomizations apply (deliveredKinds of dist/ and secrets/apps): all it is granted. */
  readonly kinds: readonly DeliveredKind[];
  /**
   * Name of the ServiceAccount, its Roles and bindings.
   * @default 'buildkit-delivery'
   */
  readonly name?: string;
  /**
   * The cluster-scoped objects it delivers besides the namespaces (hardened mode's SeccompProfile), as dist/
   * holds them: the identity may only get and patch them by name, so the bootstrap creates them.
   * @default - none
   */
  readonly clusterObjects?: readonly ApiObjectProps[];
  /**
   * Namespace of the Kustomizations: Flux impersonates a ServiceAccount of the Kustomization's own namespace.
   * @default 'flux-system'
   */
  readonly namespace?: string;
}

/** Rules granting verbs on kinds, one per API group, resources sorted. */
function rulesFor(kinds: ReadonlyArray<{ group: string; kind: string }>, verbs: readonly string[]): PolicyRule[] {
  const byGroup = new Map<string, Set<string>>();
  for (const { group, kind } of kinds) byGroup.set(group, (byGroup.get(group) ?? new Set()).add(resourceOf(kind)));
  return [...byGroup.keys()].sort().map((group) => ({ apiGroups: [group], resources: [...byGroup.get(group)!].sort(), verbs: [...verbs] }));
}

/**
 * The identity Flux applies this service with, instead of its own cluster-admin: a ServiceAccount bound in
 * each of the service's namespaces to a Role over exactly the kinds delivered there, and to get and patch
 * the cluster-scoped objects delivered, by name. Also what that identity cannot create itself: the
 * namespaces and the other cluster-scoped objects. Applied once, by an administrator (gitops/dist/flux-bootstrap.k8s.yaml).
 */
export class FluxDeliveryIdentity extends Construct {
  public readonly serviceAccountName: string;

  constructor(scope: Construct, id: string, props: FluxDeliveryIdentityProps) {
    super(scope, id);
    const name = checkDnsLabel('FluxDeliveryIdentity', 'name', props.name ?? 'buildkit-delivery');
    const fluxNamespace = checkDnsLabel('FluxDeliveryIdentity', 'namespace', props.namespace ?? 'flux-system');
    this.serviceAccountName = name;
    const labels = { ...MANAGED_BY };
    const subjects = [{ kind: 'ServiceAccount', name, namespace: fluxNamespace }];
    new KubeServiceAccount(this, 'ServiceAccount', { metadata: { name, namespace: fluxNamespace, labels } });

    const namespaced = props.kinds.filter((k) => k.namespace !== undefined);
    const namespaces = [...new Set(namespaced.map((k) => k.namespace!))].sort();
    for (const namespace of namespaces) {
      new KubeNamespace(this, `Namespace-${namespace}`, { metadata: { name: namespace, labels } });
      const applied = namespaced.filter((k) => k.namespace === namespace);
      const appliedKinds = new Set(applied.map((k) => `${k.group}/${k.kind}`));
      const reads = applied
        .flatMap((k) => HEALTH_CHECK_READS[k.kind] ?? [])
        .filter((r, i, all) => !appliedKinds.has(`${r.group}/${r.kind}`) && all.findIndex((o) => o.kind === r.kind) === i);
      const role = new KubeRole(this, `Role-${namespace}`, {
        metadata: { name, namespace, labels },
        rules: [...rulesFor(applied, APPLY_VERBS), ...rulesFor(reads, READ_VERBS)],
      });
      new KubeRoleBinding(this, `RoleBinding-${namespace}`, {
        metadata: { name, namespace, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.name },
        subjects,
      });
    }

    for (const o of props.clusterObjects ?? []) new ApiObject(this, `${o.kind}-${o.metadata?.name}`, o);
    // Cluster-scoped objects (Namespaces, a SeccompProfile): read and patched by name, never created or deleted by Flux.
    const clusterScoped = props.kinds.filter((k) => k.namespace === undefined);
    if (clusterScoped.length === 0) return;
    const clusterRole = new KubeClusterRole(this, 'ClusterRole', {
      metadata: { name, labels },
      rules: clusterScoped.map((k) => ({
        apiGroups: [k.group],
        resources: [resourceOf(k.kind)],
        resourceNames: [...(k.names ?? [])],
        verbs: ['get', 'patch'],
      })),
    });
    new KubeClusterRoleBinding(this, 'ClusterRoleBinding', {
      metadata: { name, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole.name },
      subjects,
    });
  }
}
