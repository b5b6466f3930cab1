import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import type { DeliveredKind } from './delivery-access';
import { checkDnsLabel, checkRepoURL } from './validation';

export interface ArgoCdProjectProps {
  /** The one repository its Applications may sync from. */
  readonly repoURL: string;
  /** What its Applications apply (deliveredKinds of dist/): the namespaces and kinds it admits. */
  readonly kinds: readonly DeliveredKind[];
  /**
   * Name of the AppProject.
   * @default 'buildkit'
   */
  readonly name?: string;
  /**
   * Admit cluster-scoped objects by name as well as kind, as Argo CD 3.2 and later can. By kind alone, a branch
   * write could create or adopt any Namespace (its Pod Security labels included), and prune it again. false for
   * Argo CD before 3.2, whose AppProject CRD has no such field (kubectl's strict validation refuses it).
   * @default true
   */
  readonly clusterResourceNames?: boolean;
}

const uniqueKinds = (kinds: readonly DeliveredKind[]) =>
  [...new Map(kinds.map((k) => [`${k.group}/${k.kind}`, { group: k.group, kind: k.kind }])).values()].sort(
    (a, b) => a.group.localeCompare(b.group) || a.kind.localeCompare(b.kind),
  );

/** The cluster-scoped kinds, each object by its name (an exact name: no glob characters), or the kinds alone. */
function clusterWhitelist(kinds: readonly DeliveredKind[], byName: boolean) {
  const clusterScoped = kinds.filter((k) => k.namespace === undefined);
  if (!byName) return uniqueKinds(clusterScoped);
  return clusterScoped
    .flatMap((k) => (k.names ?? []).map((name) => ({ group: k.group, kind: k.kind, name })))
    .sort((a, b) => a.group.localeCompare(b.group) || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
}

/**
 * An Argo CD AppProject that admits only this repository, the service's namespaces and the kinds dist/
 * holds, so that a branch write can deliver nothing else (the `default` project admits everything).
 */
export class ArgoCdProject extends Construct {
  public readonly name: string;

  constructor(scope: Construct, id: string, props: ArgoCdProjectProps) {
    super(scope, id);
    this.name = checkDnsLabel('ArgoCdProject', 'name', props.name ?? 'buildkit');
    const namespaced = props.kinds.filter((k) => k.namespace !== undefined);
    const namespaces = [...new Set(namespaced.map((k) => k.namespace!))].sort();
    new ApiObject(this, 'Resource', {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'AppProject',
      metadata: { name: this.name, namespace: 'argocd' },
      spec: {
        description: 'buildkit-service: this repository, its namespaces and the kinds dist/ holds',
        sourceRepos: [checkRepoURL('ArgoCdProject', 'repoURL', props.repoURL)],
        destinations: namespaces.map((namespace) => ({ server: 'https://kubernetes.default.svc', namespace })),
        clusterResourceWhitelist: clusterWhitelist(props.kinds, props.clusterResourceNames ?? true),
        namespaceResourceWhitelist: uniqueKinds(namespaced),
      },
    });
  }
}
