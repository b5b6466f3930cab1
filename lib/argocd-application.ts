import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { checkDnsLabel, checkGitRevision, checkRepoURL } from './validation';

export interface ArgoCdApplicationProps {
  /** Git URL of this repository, as Argo CD reaches it. */
  readonly repoURL: string;
  /** Namespace the service runs in. */
  readonly namespace: string;

  /**
   * Name of the Application.
   * @default 'buildkit'
   */
  readonly name?: string;

  /**
   * Branch, tag or commit to follow.
   * @default 'main'
   */
  readonly targetRevision?: string;

  /**
   * Path of the synthesized manifests.
   * @default 'dist'
   */
  readonly path?: string;

  /**
   * Argo CD project.
   * @default 'default'
   */
  readonly project?: string;
}

/** An Argo CD Application that syncs dist/ as a plain directory, pruning and self-healing. */
export class ArgoCdApplication extends Construct {
  constructor(scope: Construct, id: string, props: ArgoCdApplicationProps) {
    super(scope, id);
    checkRepoURL('ArgoCdApplication', 'repoURL', props.repoURL);
    checkGitRevision('ArgoCdApplication', 'targetRevision', props.targetRevision ?? 'main');
    new ApiObject(this, 'Resource', {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: checkDnsLabel('ArgoCdApplication', 'name', props.name ?? 'buildkit'), namespace: 'argocd' },
      spec: {
        project: props.project ?? 'default',
        source: {
          repoURL: props.repoURL,
          targetRevision: props.targetRevision ?? 'main',
          path: props.path ?? 'dist',
          // Plain manifests; cdk8s can leave construct-metadata.json beside them.
          directory: { recurse: false, exclude: '*.json' },
        },
        destination: { server: 'https://kubernetes.default.svc', namespace: props.namespace },
        syncPolicy: { automated: { prune: true, selfHeal: true } },
      },
    });
  }
}
