import type { GitopsSettings, ServiceSettings } from './lib';

/**
 * The one place to change the service: the chart, the certificate commands and the GitOps objects all read
 * it, so the server certificate always covers the names and IP the Service answers on. Empty means the
 * seed's defaults: namespace `buildkit`, Deployment and Service `buildkitd`, LoadBalancer 192.168.80.110:1234.
 * With `tenants`, one such service per team, each with its own CA (README, "Tenants").
 */
export const config: ServiceSettings = {};

/** How Flux and Argo CD reach this repository (gitops/dist/). Empty: Flux's flux-system GitRepository. */
export const gitops: GitopsSettings = {};
