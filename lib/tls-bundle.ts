import { Construct } from 'constructs';
import type { Volume, VolumeMount } from '../imports/k8s';
import { checkKnownKeys } from './props-shape';
import { SEED } from './settings';
import { checkDnsSubdomain } from './validation';

export interface TlsBundleProps {
  /**
   * Name of the Secret with `ca.pem`, `cert.pem` and `key.pem`. The chart only references it: the Secret
   * itself lives SOPS-encrypted under secrets/ and never in dist/.
   * @default 'buildkit-daemon-certs'
   */
  readonly secretName?: string;

  /**
   * Where the daemon finds the certificate files.
   * @default '/certs'
   */
  readonly mountPath?: string;

  /**
   * A value that changes whenever the certificates change (for example the SOPS MAC of the encrypted
   * Secret). The daemon puts its hash on the pod template, so new certificates roll the pods.
   * @default - only a change of secretName rolls the pods
   */
  readonly revision?: string;
}

/** The daemon's TLS material: a Secret mounted read-only, referenced by name. */
export class TlsBundle extends Construct {
  public readonly secretName: string;
  public readonly mountPath: string;
  /** Anything that should roll the pods when it changes. */
  public readonly revision: string;

  constructor(scope: Construct, id: string, props: TlsBundleProps = {}) {
    super(scope, id);
    checkKnownKeys('TlsBundle', props, { secretName: 'string', mountPath: 'string', revision: 'string' });
    this.secretName = checkDnsSubdomain('TlsBundle', 'secretName', props.secretName ?? SEED.certSecretName);
    this.mountPath = props.mountPath ?? '/certs';
    this.revision = `${this.secretName}:${props.revision ?? ''}`;
  }

  public get caFile(): string {
    return `${this.mountPath}/ca.pem`;
  }
  public get certFile(): string {
    return `${this.mountPath}/cert.pem`;
  }
  public get keyFile(): string {
    return `${this.mountPath}/key.pem`;
  }

  /** The pod volume. Mode 0440: the files belong to root and the pod's fsGroup, which the daemon runs in. */
  public get volume(): Volume {
    return { name: 'certs', secret: { secretName: this.secretName, defaultMode: 0o440 } };
  }

  public get volumeMount(): VolumeMount {
    return { name: 'certs', mountPath: this.mountPath, readOnly: true };
  }
}
