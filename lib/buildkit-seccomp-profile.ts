import { ApiObject, JsonPatch } from 'cdk8s';
import { Construct } from 'constructs';
import profile from '../profiles/seccomp/buildkit-rootless.json';
import { MANAGED_BY, NEVER_PRUNED } from './labels';
import { checkKnownKeys } from './props-shape';
import { checkDnsSubdomain } from './validation';

/** The flat OCI seccomp profile rootless BuildKit runs under in hardened mode (profiles/seccomp/). */
export const BUILDKIT_SECCOMP_PROFILE = profile;

export interface BuildkitSeccompProfileProps {
  /**
   * Name of the SeccompProfile object, cluster-wide (the operator's profiles are cluster-scoped since v0.9);
   * the operator installs it as operator/<name>.json.
   * @default 'buildkit-rootless'
   */
  readonly name?: string;
}

/**
 * The profile as a security-profiles-operator SeccompProfile, which the operator writes onto every node. The
 * object is cluster-scoped: it carries no namespace, and its name must be the cluster's only one of that name.
 * Needs the operator's CRD in the cluster, or the whole of dist/ fails to apply.
 */
export class BuildkitSeccompProfile extends Construct {
  public readonly name: string;
  /** The path pods reference (`localhostProfile`) once the operator has installed it. */
  public readonly localhostProfile: string;

  constructor(scope: Construct, id: string, props: BuildkitSeccompProfileProps = {}) {
    super(scope, id);
    checkKnownKeys('BuildkitSeccompProfile', props, { name: 'string' });
    this.name = checkDnsSubdomain('BuildkitSeccompProfile', 'name', props.name ?? 'buildkit-rootless');
    const resource = new ApiObject(this, 'Resource', {
      apiVersion: 'security-profiles-operator.x-k8s.io/v1',
      kind: 'SeccompProfile',
      metadata: { name: this.name, annotations: { ...NEVER_PRUNED }, labels: { ...MANAGED_BY } },
      spec: profile,
    });
    // cdk8s gives every object the chart's namespace; the API server has no namespace for this kind.
    resource.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
    // The operator's file name: the object's name, with .json added unless it ends so (GetProfileFile).
    this.localhostProfile = `operator/${this.name.endsWith('.json') ? this.name : `${this.name}.json`}`;
  }
}
