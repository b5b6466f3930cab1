import type { App } from 'cdk8s';
import { Chart } from 'cdk8s';
import { ArgoCdApplication } from './argocd-application';
import { ArgoCdProject } from './argocd-project';
import type { BuildkitChart } from './buildkit-chart';
import { BuildkitDaemon } from './buildkit-daemon';
import { decryptionSecret, IN_CLUSTER_SECRET } from './certs/layout';
import { certsPlan } from './certs/plan';
import { constructsOf } from './construct-tree';
import { type DeliveredKind, deliveredKinds, type Manifest } from './delivery-access';
import { FluxDeliveryIdentity } from './flux-delivery-identity';
import { checkFluxSourceRef, FluxKustomizations, type FluxKustomizationsProps } from './flux-kustomizations';
import { checkKnownKeys } from './props-shape';
import { tenantDeliveryIdentity } from './tenants';
import { checkGitRevision, checkRepoURL } from './validation';

/** How GitOps controllers reach this repository. */
export interface GitopsSettings {
  /**
   * The Flux source that holds this repository.
   * @default { kind: 'GitRepository', name: 'flux-system' }
   */
  readonly fluxSourceRef?: FluxKustomizationsProps['sourceRef'];
  /**
   * This repository's URL, as Argo CD clones it.
   * @default 'https://git.example.com/platform/buildkit-service.git'
   */
  readonly repoURL?: string;
  /**
   * The branch Argo CD follows.
   * @default 'main'
   */
  readonly targetRevision?: string;
  /**
   * Argo CD's project admits the service's Namespaces (and SeccompProfile) by name; false for Argo CD before
   * 3.2, which can admit them only by kind (README, "How Flux or Argo CD consume dist/").
   * @default true
   */
  readonly argocdClusterResourceNames?: boolean;
}

/** What the GitOps controllers apply: dist/ (the chart) and secrets/apps (the Secrets and their namespaces). */
function deliveredByFlux(service: BuildkitChart, manifests: readonly Manifest[]): DeliveredKind[] {
  const plan = certsPlan(service);
  const secrets = [
    ...plan.servers.map((s) => ({ name: s.secretName, namespace: s.namespace })),
    { name: IN_CLUSTER_SECRET, namespace: plan.clientNamespace },
  ];
  return deliveredKinds([
    ...manifests,
    ...secrets.map((metadata) => ({ apiVersion: 'v1', kind: 'Secret', metadata })),
    ...plan.namespaces.map(({ name }) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })),
  ]);
}

/**
 * Flux Kustomizations and an Argo CD Application for each chart (each tenant's, or the only one), read from
 * its construct tree, each applying with an identity limited to what it delivers: a ServiceAccount bound to
 * Roles over exactly those kinds (and its bootstrap, which an administrator applies once), and an AppProject.
 * A tenant's objects are named after it and apply only its folders, so one tenant's broken change does not
 * block the others.
 */
export function buildGitops(app: App, services: ReadonlyMap<string | undefined, BuildkitChart>, settings: GitopsSettings = {}): void {
  checkKnownKeys('gitops', settings, {
    fluxSourceRef: { kind: 'string', name: 'string' },
    repoURL: 'string',
    targetRevision: 'string',
    argocdClusterResourceNames: 'boolean',
  });
  const repoURL = checkRepoURL('gitops', 'repoURL', settings.repoURL ?? 'https://git.example.com/platform/buildkit-service.git');
  // Checked here too, so that an error names the setting in config.ts rather than the construct it feeds.
  if (settings.fluxSourceRef) checkFluxSourceRef('gitops', 'fluxSourceRef', settings.fluxSourceRef);
  if (settings.targetRevision !== undefined) checkGitRevision('gitops', 'targetRevision', settings.targetRevision);
  const bootstrap = new Chart(app, 'flux-bootstrap');
  const flux = new Chart(app, 'flux');
  const argocd = new Chart(app, 'argocd');
  for (const [tenant, service] of services) {
    const id = tenant ? `Buildkit-${tenant}` : 'Buildkit';
    const workloads = constructsOf(service, BuildkitDaemon).map((d) => ({
      kind: d.workloadKind === 'statefulset' ? ('StatefulSet' as const) : ('Deployment' as const),
      name: d.name,
      namespace: service.namespace!,
      rolloutSeconds: d.rolloutSeconds,
    }));
    // Synthesized once: the identity, its bootstrap and the Argo CD project all read the same manifests.
    const manifests = service.toJson();
    const identity = new FluxDeliveryIdentity(bootstrap, id, {
      kinds: deliveredByFlux(service, manifests),
      clusterObjects: manifests.filter((o) => o.metadata.namespace === undefined && o.kind !== 'Namespace'),
      ...(tenant ? { name: tenantDeliveryIdentity(tenant) } : {}),
    });
    new FluxKustomizations(flux, id, {
      workloads,
      sourceRef: settings.fluxSourceRef,
      serviceAccountName: identity.serviceAccountName,
      ...(tenant
        ? {
            name: tenant,
            distPath: `./dist/${tenant}`,
            secretsPath: `./secrets/tenants/${tenant}/apps`,
            decryptionSecret: decryptionSecret(tenant),
          }
        : {}),
    });
    const project = new ArgoCdProject(argocd, tenant ? `Project-${tenant}` : 'Project', {
      repoURL,
      kinds: deliveredKinds(manifests),
      clusterResourceNames: settings.argocdClusterResourceNames,
      ...(tenant ? { name: tenant } : {}),
    });
    new ArgoCdApplication(argocd, id, {
      repoURL,
      targetRevision: settings.targetRevision,
      namespace: service.endpoint.namespace,
      project: project.name,
      ...(tenant ? { name: tenant, path: `dist/${tenant}` } : {}),
    });
  }
}
