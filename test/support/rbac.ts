// A small evaluator of Kubernetes RBAC, as the API server authorizes: a request is allowed when a rule of a
// Role bound in its namespace, or of a ClusterRole bound there or cluster-wide, matches its API group,
// resource, verb and (when the rule lists any) name. `*` would match everything; the tests refuse it anyway.

export interface Subject {
  readonly kind: 'ServiceAccount';
  readonly name: string;
  readonly namespace: string;
}

export interface Request {
  readonly verb: string;
  readonly group: string;
  readonly resource: string;
  /** Undefined for a cluster-scoped resource. */
  readonly namespace?: string;
  readonly name?: string;
}

const binds = (binding: any, s: Subject) =>
  (binding.subjects ?? []).some((x: any) => x.kind === s.kind && x.name === s.name && x.namespace === s.namespace);
const matches = (list: string[] | undefined, value: string) => (list ?? []).includes(value) || (list ?? []).includes('*');

function ruleAllows(rule: any, r: Request): boolean {
  return (
    matches(rule.apiGroups, r.group) &&
    matches(rule.resources, r.resource) &&
    matches(rule.verbs, r.verb) &&
    (!rule.resourceNames || rule.resourceNames.length === 0 || (r.name !== undefined && rule.resourceNames.includes(r.name)))
  );
}

/** The rules a subject holds for a request's scope: from RoleBindings in its namespace and ClusterRoleBindings. */
export function rulesOf(objects: any[], s: Subject, namespace?: string): any[] {
  const role = (kind: string, name: string, ns?: string) =>
    objects.find((o) => o.kind === kind && o.metadata.name === name && (kind === 'ClusterRole' || o.metadata.namespace === ns));
  const bound = [
    ...objects
      .filter((o) => o.kind === 'RoleBinding' && namespace !== undefined && o.metadata.namespace === namespace && binds(o, s))
      .map((b) => role(b.roleRef.kind, b.roleRef.name, namespace)),
    ...objects.filter((o) => o.kind === 'ClusterRoleBinding' && binds(o, s)).map((b) => role('ClusterRole', b.roleRef.name)),
  ];
  return bound.filter(Boolean).flatMap((r) => r.rules ?? []);
}

export function allowed(objects: any[], s: Subject, r: Request): boolean {
  return rulesOf(objects, s, r.namespace).some((rule) => ruleAllows(rule, r));
}
