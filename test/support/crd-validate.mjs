// Validates custom resources against their CRD schemas: Flux, Argo CD and Prometheus Operator as compiled by
// @kubernetes-models, the security-profiles-operator's SeccompProfile against its published CRD (unknown
// fields refused). Those packages are ES modules reachable only through `import`, so tests run this with
// plain node, manifests on stdin (a JSON array); it prints one JSON array of error lines.
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import { load } from 'js-yaml';

/** The CRD's v1 schema with every object that lists its properties closed, as strict field validation does. */
function seccompProfileValidator() {
  const crd = load(readFileSync(new URL('../fixtures/security-profiles-operator/seccompprofile-crd.yaml', import.meta.url), 'utf8'));
  const schema = crd.spec.versions.find((v) => v.name === 'v1').schema.openAPIV3Schema;
  const close = (node) => {
    if (Array.isArray(node)) {
      node.forEach(close);
      return;
    }
    if (!node || typeof node !== 'object') return;
    if (node.properties && node.additionalProperties === undefined && !node['x-kubernetes-preserve-unknown-fields'])
      node.additionalProperties = false;
    Object.values(node).forEach(close);
  };
  close(schema);
  // metadata is the API server's, not the CRD's: any object.
  schema.properties.metadata = { type: 'object' };
  const ajv = new Ajv({ allErrors: true, strict: false });
  ajv.addFormat('int32', { type: 'number', validate: (n) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n) => Number.isSafeInteger(n) });
  ajv.addFormat('date-time', { type: 'string', validate: (s) => !Number.isNaN(Date.parse(s)) });
  const validate = ajv.compile(schema);
  return class {
    constructor(m) {
      this.m = m;
    }
    validate() {
      if (!validate(this.m))
        throw new Error(
          validate.errors
            .map((e) => `${e.instancePath} ${e.message}${e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : ''}`)
            .join('; '),
        );
    }
  };
}

const models = {
  'monitoring.coreos.com/v1/ServiceMonitor': () =>
    import('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor').then((m) => m.ServiceMonitor),
  'monitoring.coreos.com/v1/PrometheusRule': () =>
    import('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule').then((m) => m.PrometheusRule),
  'kustomize.toolkit.fluxcd.io/v1/Kustomization': () =>
    import('@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1/Kustomization').then((m) => m.Kustomization),
  'argoproj.io/v1alpha1/Application': () =>
    import('@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application').then((m) => m.Application),
  'argoproj.io/v1alpha1/AppProject': () => import('@kubernetes-models/argo-cd/argoproj.io/v1alpha1/AppProject').then((m) => m.AppProject),
  'security-profiles-operator.x-k8s.io/v1/SeccompProfile': async () => seccompProfileValidator(),
};

const manifests = JSON.parse(readFileSync(0, 'utf8'));
const errors = [];
for (const m of manifests) {
  const where = `${m.kind}/${m.metadata?.name}`;
  const load = models[`${m.apiVersion}/${m.kind}`];
  if (!load) {
    errors.push(`${where}: no CRD model for ${m.apiVersion} ${m.kind}`);
    continue;
  }
  const Model = await load();
  try {
    new Model(m).validate();
  } catch (err) {
    errors.push(`${where}: ${err.message}`);
  }
}
console.log(JSON.stringify(errors));
