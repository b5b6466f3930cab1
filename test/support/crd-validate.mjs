// Validates custom resources against their CRD schemas as compiled by @kubernetes-models. Those packages
// are ES modules reachable only through `import`, so tests run this with plain node, manifests on stdin
// (a JSON array); it prints one JSON array of error lines.
import { readFileSync } from 'fs';

const models = {
  'monitoring.coreos.com/v1/ServiceMonitor': () => import('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor').then((m) => m.ServiceMonitor),
  'kustomize.toolkit.fluxcd.io/v1/Kustomization': () => import('@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1/Kustomization').then((m) => m.Kustomization),
  'argoproj.io/v1alpha1/Application': () => import('@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application').then((m) => m.Application),
};

const manifests = JSON.parse(readFileSync(0, 'utf8'));
const errors = [];
for (const m of manifests) {
  const where = `${m.kind}/${m.metadata?.name}`;
  const load = models[`${m.apiVersion}/${m.kind}`];
  if (!load) { errors.push(`${where}: no CRD model for ${m.apiVersion} ${m.kind}`); continue; }
  const Model = await load();
  try { new Model(m).validate(); } catch (err) { errors.push(`${where}: ${err.message}`); }
}
console.log(JSON.stringify(errors));
