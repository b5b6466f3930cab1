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
