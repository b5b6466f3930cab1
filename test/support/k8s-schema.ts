import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';

/** Kubernetes objects checked the way the API server's strict field validation would: unknown fields are errors. */
export interface ManifestValidator {
  /** Error lines for one object; empty when it is valid. */
  validate(manifest: any): string[];
}

const QUANTITY = '^[+-]?(\\d+(\\.\\d*)?|\\.\\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\\d+)?$';

// The published definitions leave objects open; closing every object that lists its properties is what
// turns a misspelt or too-new field into an error. Free-form types (RawExtension, FieldsV1) stay open.
function closeObjects(node: any): void {
  if (Array.isArray(node)) {
    node.forEach(closeObjects);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  if (node.properties && node.additionalProperties === undefined && !node['x-kubernetes-preserve-unknown-fields']) {
    node.additionalProperties = false;
  }
  Object.values(node).forEach(closeObjects);
}

export function loadValidator(version: string): ManifestValidator {
  const file = join(__dirname, '..', '..', 'schemas', 'kubernetes', `v${version}-definitions.json`);
  const definitions = JSON.parse(readFileSync(file, 'utf8')).definitions as Record<string, any>;
  closeObjects(definitions);
  // Quantities are strings of one grammar; the schema alone would accept any string.
  definitions['io.k8s.apimachinery.pkg.api.resource.Quantity'] = { oneOf: [{ type: 'string', pattern: QUANTITY }, { type: 'number' }] };

  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, strictTuples: false });
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  ajv.addFormat('double', { type: 'number', validate: () => true });
  ajv.addFormat('byte', /^[A-Za-z0-9+/]*={0,2}$/);
  ajv.addFormat('date-time', { type: 'string', validate: (s: string) => !Number.isNaN(Date.parse(s)) });
  ajv.addKeyword({
    keyword: 'x-kubernetes-list-map-keys',
    type: 'array',
    // Items of a map-list are identified by these keys: two containers or ports with the same key are rejected.
    validate: (keys: string[], items: any[]) => {
      const seen = new Set(items.map((item) => JSON.stringify(keys.map((k) => item?.[k]))));
      return seen.size === items.length;
    },
  });
  ajv.addVocabulary([
    'x-kubernetes-group-version-kind',
    'x-kubernetes-preserve-unknown-fields',
    'x-kubernetes-validations',
    'x-kubernetes-int-or-string',
    'x-kubernetes-embedded-resource',
    'x-kubernetes-patch-strategy',
    'x-kubernetes-list-type',
    'x-kubernetes-patch-merge-key',
    'x-kubernetes-unions',
    'x-kubernetes-map-type',
  ]);
  ajv.addSchema({ $id: 'k8s', definitions });

  const byKind = new Map<string, string>();
  for (const [name, def] of Object.entries(definitions)) {
    for (const gvk of def['x-kubernetes-group-version-kind'] ?? []) {
      byKind.set(`${gvk.group ? `${gvk.group}/` : ''}${gvk.version}/${gvk.kind}`, name);
    }
  }
  const compiled = new Map<string, ValidateFunction>();

  return {
    validate(manifest: any): string[] {
      const where = `${manifest?.kind}/${manifest?.metadata?.name}`;
      const name = byKind.get(`${manifest?.apiVersion}/${manifest?.kind}`);
      if (!name) return [`${where}: no schema for ${manifest?.apiVersion} ${manifest?.kind} in Kubernetes ${version}`];
      let check = compiled.get(name);
      if (!check) {
        check = ajv.compile({ $ref: `k8s#/definitions/${name}` });
        compiled.set(name, check);
      }
      if (check(manifest)) return [];
      return (check.errors ?? []).map(
        (e) => `${where}${e.instancePath}: ${e.message}${e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : ''}`,
      );
    },
  };
}
