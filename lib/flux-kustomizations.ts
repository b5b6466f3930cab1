import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { checkDnsLabel } from './validation';

export interface FluxKustomizationsProps {
  /** Namespace of the service, for the health check. */
  readonly namespace: string;
  /** Kind and name of the workload whose health gates the service Kustomization. */
  readonly workload: { readonly kind: 'Deployment' | 'StatefulSet'; readonly name: string };

  /**
   * The Flux source (GitRepository, OCIRepository or Bucket) that holds this repository; it is not created here.
   * @default { kind: 'GitRepository', name: 'flux-system' }
   */
  readonly sourceRef?: { readonly kind: 'GitRepository' | 'OCIRepository' | 'Bucket'; readonly name: string };

  /**
   * Path of the synthesized manifests in the source.
   * @default './dist'
   */
  readonly distPath?: string;

  /**
   * Path of the SOPS-encrypted Secrets in the source.
   * @default './secrets/apps'
   */
  readonly secretsPath?: string;

  /**
   * Secret in flux-system with the age identity (key `age.agekey`).
   * @default 'sops-age'
   */
  readonly decryptionSecret?: string;

  /**
   * Reconcile interval.
   * @default '10m'
   */
  readonly interval?: string;
}

/**
 * Two Flux Kustomizations: the encrypted Secrets (decrypted by Flux with the age key), then the service,
 * which depends on them so the daemon never starts without its certificates, prunes what was removed from
 * dist/, and is Ready only when the workload is. The secrets path holds a create-only Namespace, so the
 * first apply has somewhere to put the Secrets before dist/ creates and owns the namespace.
 */
export class FluxKustomizations extends Construct {
  public readonly secretsName: string;
  public readonly serviceName: string;

  constructor(scope: Construct, id: string, props: FluxKustomizationsProps) {
    super(scope, id);
    const sourceRef = props.sourceRef ?? { kind: 'GitRepository', name: 'flux-system' };
    checkDnsLabel('FluxKustomizations', 'sourceRef.name', sourceRef.name);
    const interval = props.interval ?? '10m';
    this.serviceName = checkDnsLabel('FluxKustomizations', 'workload.name', props.workload.name);
    this.secretsName = `${this.serviceName}-secrets`;
    const metadata = (name: string) => ({ name, namespace: 'flux-system' });

    new ApiObject(this, 'Secrets', {
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      metadata: metadata(this.secretsName),
      spec: {
        interval,
        sourceRef,
        path: props.secretsPath ?? './secrets/apps',
        prune: true,
        decryption: { provider: 'sops', secretRef: { name: props.decryptionSecret ?? 'sops-age' } },
      },
    });
    new ApiObject(this, 'Service', {
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      metadata: metadata(this.serviceName),
      spec: {
        interval,
        sourceRef,
        path: props.distPath ?? './dist',
        prune: true,
        wait: true,
        timeout: '10m',
        dependsOn: [{ name: this.secretsName }],
        healthChecks: [{ apiVersion: 'apps/v1', kind: props.workload.kind, name: props.workload.name, namespace: props.namespace }],
      },
    });
  }
}
