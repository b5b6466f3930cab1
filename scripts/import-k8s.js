#!/usr/bin/env node
// Regenerates imports/k8s.ts offline. `cdk8s import k8s@X` downloads its schema from a hard-coded URL;
// this runs the same importer with that one download answered from schemas/kubernetes/.
const fs = require('node:fs');
const path = require('node:path');

const version = process.argv[2] ?? '1.30.0';
const root = path.resolve(__dirname, '..');
// cdk8s-cli exports no public API: load its compiled modules by path.
const cli = (mod) => require(path.join(root, 'node_modules', 'cdk8s-cli', 'lib', mod));
const cliUtil = cli('util');
const { ImportKubernetesApi } = cli('import/k8s');
const { Language } = cli('import/base');

cliUtil.download = async (url) => {
  const wanted = /\/v(\d+\.\d+\.\d+)\/_definitions\.json$/.exec(url)?.[1];
  const file = path.join(root, 'schemas', 'kubernetes', `v${wanted}-definitions.json`);
  if (!fs.existsSync(file)) throw new Error(`no local schema for k8s ${wanted}: add ${path.relative(root, file)}`);
  return fs.readFileSync(file, 'utf8');
};

new ImportKubernetesApi({ apiVersion: version })
  .import({ outdir: path.join(root, 'imports'), targetLanguage: Language.TYPESCRIPT })
  .catch((err) => {
    console.error(`import-k8s: ${err.message}`);
    process.exit(1);
  });
