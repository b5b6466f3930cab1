import { ApiObject, type App } from 'cdk8s';

/**
 * Refuses two objects that Kubernetes takes for one: the same API group, kind, namespace and name. `kubectl
 * apply` would keep whichever came last and kustomize (Flux) refuses the whole folder, so the synth names both
 * constructs instead. Names are compared as rendered, derived ones too (`-metrics`, `-headless`, `-0`, `-config`).
 */
export function checkOneObjectPerName(app: App): void {
  const seen = new Map<string, string>();
  for (const chart of app.charts) {
    for (const object of chart.node.findAll().filter(ApiObject.isApiObject)) {
      const { apiVersion, kind, metadata } = object.toJson() as {
        apiVersion: string;
        kind: string;
        metadata: { name: string; namespace?: string };
      };
      const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
      const what = `${kind}${group ? `.${group}` : ''} ${metadata.namespace ? `${metadata.namespace}/` : ''}${metadata.name}`;
      const first = seen.get(what);
      if (first) {
        throw new Error(
          `two objects are ${what}: ${first} and ${object.node.path}; give one of them another name (the daemon's name, a native builder's name, registryCache.name, a tenant's name)`,
        );
      }
      seen.set(what, object.node.path);
    }
  }
}
