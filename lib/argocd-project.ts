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
}

const uniqueKinds = (kinds: readonly DeliveredKind[]) =>
  [...new Map(kinds.map((k) => [`${k.group}/${k.kind}`, { group: k.group, kind: k.kind }])).values()].sort(
    (a, b) => a.group.localeCompare(b.group) || a.kind.localeCompare(b.kind),
  );

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
        clusterResourceWhitelist: uniqueKinds(props.kinds.filter((k) => k.namespace === undefined)),
        namespaceResourceWhitelist: uniqueKinds(namespaced),
      },
    });
  }
}
