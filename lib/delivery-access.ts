/** One kind of object a GitOps controller applies, and where. */
export interface DeliveredKind {
  /** The API group ('' for the core group). */
  readonly group: string;
  readonly kind: string;
  /** Its namespace; undefined for a cluster-scoped kind. */
  readonly namespace?: string;
  /** For cluster-scoped kinds: the names applied (RBAC can name them, so it does). */
  readonly names?: readonly string[];
}

export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
}

/** The distinct (group, kind, namespace) of some manifests, sorted; cluster-scoped kinds with the names applied. */
export function deliveredKinds(manifests: readonly Manifest[]): DeliveredKind[] {
  const found = new Map<string, { group: string; kind: string; namespace?: string; names: Set<string> }>();
  for (const m of manifests) {
    const group = m.apiVersion.includes('/') ? m.apiVersion.split('/')[0] : '';
    const namespace = m.metadata.namespace;
    const key = JSON.stringify([group, m.kind, namespace ?? null]);
    const entry = found.get(key) ?? { group, kind: m.kind, namespace, names: new Set<string>() };
    entry.names.add(m.metadata.name);
    found.set(key, entry);
  }
  return [...found.values()]
    .map(({ names, ...k }) => (k.namespace === undefined ? { ...k, names: [...names].sort() } : k))
    .sort((a, b) => (a.namespace ?? '').localeCompare(b.namespace ?? '') || a.group.localeCompare(b.group) || a.kind.localeCompare(b.kind));
}

/**
 * The resource (plural) of a kind, as Kubernetes guesses it (apimachinery's UnsafeGuessKindToResource): lower
 * case, then -s, -es after s, -ies after a consonant and y. Every kind this service applies follows it.
 */
export function resourceOf(kind: string): string {
  const lower = kind.toLowerCase();
  if (lower.endsWith('s')) return `${lower}es`;
  if (lower.endsWith('y') && !/[aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  return `${lower}s`;
}

/** What a controller applying, pruning and drift-correcting objects does with them: no wildcard. */
export const APPLY_VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] as const;
/** What a health check reads. */
export const READ_VERBS = ['get', 'list', 'watch'] as const;

/**
 * What the health checks of a workload read besides the workload (kstatus follows a Deployment to its
 * ReplicaSets and pods, a StatefulSet to its pods): granted read-only, only where such workloads are.
 */
export const HEALTH_CHECK_READS: Readonly<Record<string, ReadonlyArray<{ group: string; kind: string }>>> = {
  Deployment: [
    { group: 'apps', kind: 'ReplicaSet' },
    { group: '', kind: 'Pod' },
  ],
  StatefulSet: [{ group: '', kind: 'Pod' }],
};
