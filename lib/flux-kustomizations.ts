import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { decryptionSecret } from './certs/layout';
import { checkDnsLabel } from './validation';

/** A workload whose health gates the service Kustomization. */
export interface HealthCheckedWorkload {
  readonly kind: 'Deployment' | 'StatefulSet';
  readonly name: string;
  readonly namespace: string;
  /**
   * The longest its rollout may take with nothing wrong: the Kustomization waits at least that long.
   * @default 0 (the Kustomization's own 10 minutes cover it)
   */
  readonly rolloutSeconds?: number;
}

export interface FluxKustomizationsProps {
  /** The workloads whose health gates the service Kustomization; the first names the Kustomizations. */
  readonly workloads: readonly HealthCheckedWorkload[];

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

  /**
   * Name of the service Kustomization; the secrets one adds `-secrets`.
   * @default - the first workload's name
   */
  readonly name?: string;

  /**
   * The ServiceAccount (in flux-system) Flux impersonates to apply both paths, such as a FluxDeliveryIdentity's.
   * @default - the controller's own identity (cluster-admin in a default Flux install)
   */
  readonly serviceAccountName?: string;
}

/**
 * Two Flux Kustomizations: the encrypted Secrets (decrypted by Flux with the age key), then the service,
 * which depends on them so the daemon never starts without its certificates, prunes what was removed from
 * dist/, and is Ready only when the workload is. The secrets path holds a create-only Namespace, so the
 * first apply has somewhere to put the Secrets before dist/ creates and owns the namespace.
 */
/** The source kinds a Flux Kustomization can apply from. */
const FLUX_SOURCE_KINDS: readonly string[] = ['GitRepository', 'OCIRepository', 'Bucket'];

/** A Flux source reference: one of Flux's source kinds, and a name. `owner` and `prop` name it in the error. */
export function checkFluxSourceRef(owner: string, prop: string, sourceRef: NonNullable<FluxKustomizationsProps['sourceRef']>) {
  if (!FLUX_SOURCE_KINDS.includes(sourceRef.kind)) {
    throw new Error(
      `${owner}: invalid ${prop}.kind ${JSON.stringify(sourceRef.kind)}: use one of Flux's sources, ${FLUX_SOURCE_KINDS.join(', ')}`,
    );
  }
  if (typeof sourceRef.name !== 'string') {
    throw new Error(`${owner}: invalid ${prop}.name ${JSON.stringify(sourceRef.name)}: name the ${sourceRef.kind}, such as flux-system`);
  }
  checkDnsLabel(owner, `${prop}.name`, sourceRef.name);
  return sourceRef;
}

export class FluxKustomizations extends Construct {
  public readonly secretsName: string;
  public readonly serviceName: string;

  constructor(scope: Construct, id: string, props: FluxKustomizationsProps) {
    super(scope, id);
    const sourceRef = checkFluxSourceRef(
      'FluxKustomizations',
      'sourceRef',
      props.sourceRef ?? { kind: 'GitRepository', name: 'flux-system' },
    );
    const interval = props.interval ?? '10m';
    if (props.workloads.length === 0) throw new Error("FluxKustomizations: invalid workloads []: give at least the service's workload");
    this.serviceName =
      props.name === undefined
        ? checkDnsLabel('FluxKustomizations', 'workloads[0].name', props.workloads[0].name)
        : checkDnsLabel('FluxKustomizations', 'name', props.name);
    this.secretsName = `${this.serviceName}-secrets`;
    const metadata = (name: string) => ({ name, namespace: 'flux-system' });
    const identity =
      props.serviceAccountName === undefined
        ? {}
        : { serviceAccountName: checkDnsLabel('FluxKustomizations', 'serviceAccountName', props.serviceAccountName) };

    new ApiObject(this, 'Secrets', {
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      metadata: metadata(this.secretsName),
      spec: {
        interval,
        sourceRef,
        path: props.secretsPath ?? './secrets/apps',
        prune: true,
        decryption: { provider: 'sops', secretRef: { name: props.decryptionSecret ?? decryptionSecret() } },
        ...identity,
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
        // A slower honest rollout (drains of running builds) would otherwise be reported as failed.
        timeout: `${Math.max(10, ...props.workloads.map((w) => Math.ceil((w.rolloutSeconds ?? 0) / 60)))}m`,
        dependsOn: [{ name: this.secretsName }],
        healthChecks: props.workloads.map((w) => ({ apiVersion: 'apps/v1', kind: w.kind, name: w.name, namespace: w.namespace })),
        ...identity,
      },
    });
  }
}
