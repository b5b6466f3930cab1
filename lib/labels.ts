/**
 * Selector labels of one daemon. They never depend on construct paths or hashes: a workload's selector is
 * immutable once applied, so changing them would force deleting the workload.
 */
export function selectorLabels(daemonName: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'buildkit',
    'app.kubernetes.io/instance': daemonName,
    'app.kubernetes.io/component': 'daemon',
  };
}

/** Labels on every object this project writes, for `kubectl get -l` and ownership. */
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'buildkit-service' } as const;

/**
 * On the cluster-scoped objects dist/ holds (the Namespace, the SeccompProfile): Flux and Argo CD leave them in
 * place when dist/ stops holding them (a renamed namespace) rather than prune them. An administrator's bootstrap
 * creates them, the delivery identity may not delete them (so Flux's prune would fail, and the Kustomization with
 * it, on every reconcile), and deleting a Namespace deletes everything in it.
 */
export const NEVER_PRUNED = {
  'kustomize.toolkit.fluxcd.io/prune': 'disabled',
  'argocd.argoproj.io/sync-options': 'Prune=false',
} as const;
