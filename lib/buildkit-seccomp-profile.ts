import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import profile from '../profiles/seccomp/buildkit-rootless.json';
import { MANAGED_BY } from './labels';
import { checkDnsLabel, checkKnownKeys } from './validation';

/** The flat OCI seccomp profile rootless BuildKit runs under in hardened mode (profiles/seccomp/). */
export const BUILDKIT_SECCOMP_PROFILE = profile;

export interface BuildkitSeccompProfileProps {
  /**
   * Name of the SeccompProfile object; the operator installs it as operator/<namespace>/<name>.json.
   * @default 'buildkit-rootless'
   */
  readonly name?: string;
}

/**
 * The profile as a security-profiles-operator SeccompProfile, which the operator writes onto every node.
 * Needs the operator's CRD in the cluster, or the whole of dist/ fails to apply.
 */
export class BuildkitSeccompProfile extends Construct {
  public readonly name: string;
  /** The path pods reference (`localhostProfile`) once the operator has installed it. */
  public readonly localhostProfile: string;

  constructor(scope: Construct, id: string, props: BuildkitSeccompProfileProps = {}) {
    super(scope, id);
    checkKnownKeys('BuildkitSeccompProfile', props, { name: 'string' });
    this.name = checkDnsLabel('BuildkitSeccompProfile', 'name', props.name ?? 'buildkit-rootless');
    const resource = new ApiObject(this, 'Resource', {
      apiVersion: 'security-profiles-operator.x-k8s.io/v1',
      kind: 'SeccompProfile',
      metadata: { name: this.name, labels: { ...MANAGED_BY } },
      spec: profile,
    });
    this.localhostProfile = `operator/${resource.metadata.namespace ?? 'default'}/${this.name}.json`;
  }
}
