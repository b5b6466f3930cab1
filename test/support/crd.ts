import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './dist';

/** Errors of custom resources against their CRD schemas (see crd-validate.mjs); empty when all are valid. */
export function validateCustomResources(manifests: any[]): string[] {
  const out = execFileSync('node', [join(__dirname, 'crd-validate.mjs')], {
    cwd: ROOT,
    input: JSON.stringify(manifests),
    encoding: 'utf8',
  });
  return JSON.parse(out);
}
