import { readFileSync } from 'fs';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App } from 'cdk8s';
import { load } from 'js-yaml';
import { ArgoCdApplication, BuildkitChart, FluxKustomizations } from '../lib';
import { init } from '../lib/certs/commands';
import { paths } from '../lib/certs/layout';
import { find } from './support/chart';
import { validateCustomResources } from './support/crd';
import { isCustomResource, readManifests, ROOT } from './support/dist';

const delivery = readManifests(join(ROOT, 'gitops/dist'));

describe('Flux', () => {
  const secrets = find(delivery, 'Kustomization', 'buildkitd-secrets');
  const service = find(delivery, 'Kustomization', 'buildkitd');

  test('decrypts secrets/apps with the sops-age key', () => {
    expect(secrets.metadata.namespace).toBe('flux-system');
    expect(secrets.spec).toMatchObject({ path: './secrets/apps', prune: true, decryption: { provider: 'sops', secretRef: { name: 'sops-age' } } });
  });

  test('applies dist/ after the Secrets, prunes, and is Ready only when the workload is', () => {
    expect(service.spec).toMatchObject({ path: './dist', prune: true, wait: true, dependsOn: [{ name: 'buildkitd-secrets' }] });
    expect(service.spec.healthChecks).toEqual([{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'buildkitd', namespace: 'buildkit' }]);
    expect(service.spec.decryption).toBeUndefined();
  });

  test('names no particular Git repository beyond a sourceRef', () => {
    expect(service.spec.sourceRef).toEqual({ kind: 'GitRepository', name: 'flux-system' });
    expect(delivery.filter((m) => m.kind === 'GitRepository')).toEqual([]);
  });

  test('health-checks the StatefulSet in StatefulSet mode', () => {
    const { Chart, Testing } = require('cdk8s');
    const chart = new Chart(Testing.app(), 'flux');
    new FluxKustomizations(chart, 'k', { namespace: 'ci', workload: { kind: 'StatefulSet', name: 'builder' }, sourceRef: { kind: 'OCIRepository', name: 'platform' } });
    const [, svc] = Testing.synth(chart);
    expect(svc.spec.healthChecks[0]).toEqual({ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'builder', namespace: 'ci' });
    expect(svc.spec.sourceRef).toEqual({ kind: 'OCIRepository', name: 'platform' });
    expect(validateCustomResources(Testing.synth(chart))).toEqual([]);
  });

  test('the first reconcile has a namespace for the Secrets: init seeds one Flux creates only if missing', async () => {
    const root = join(mkdtempSync(join(tmpdir(), 'buildkit-ns-')), 'secrets');
    try {
      await init({ root, now: new Date(), log: () => {}, endpoint: new BuildkitChart(new App(), 'b', {}).endpoint });
      const ns = load(readFileSync(paths(root).namespace, 'utf8')) as any;
      expect(ns).toMatchObject({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'buildkit' } });
      expect(ns.metadata.annotations).toEqual({ 'kustomize.toolkit.fluxcd.io/ssa': 'IfNotPresent', 'kustomize.toolkit.fluxcd.io/prune': 'disabled' });
      expect(find(readManifests(join(ROOT, 'dist')), 'Namespace', 'buildkit').metadata.labels['pod-security.kubernetes.io/enforce'])
        .toBe(ns.metadata.labels['pod-security.kubernetes.io/enforce']);
    } finally {
      rmSync(join(root, '..'), { recursive: true, force: true });
    }
  });
});

describe('Argo CD', () => {
  const app = find(delivery, 'Application', 'buildkit');

  test('syncs dist/ as a plain directory without JSON files, pruning and self-healing', () => {
    expect(app.metadata.namespace).toBe('argocd');
    expect(app.spec.source).toMatchObject({ path: 'dist', targetRevision: 'main', directory: { recurse: false, exclude: '*.json' } });
    expect(app.spec.destination).toEqual({ server: 'https://kubernetes.default.svc', namespace: 'buildkit' });
    expect(app.spec.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
  });

  test('refuses a repository URL Argo CD cannot clone', () => {
    const { Testing } = require('cdk8s');
    expect(() => new ArgoCdApplication(Testing.chart(), 'a', { repoURL: 'not a url', namespace: 'buildkit' }))
      .toThrow(/^ArgoCdApplication: invalid repoURL "not a url"/);
  });
});

test('every delivery object is valid for its CRD, and dist/ holds none of them', () => {
  expect(delivery.every(isCustomResource)).toBe(true);
  expect(validateCustomResources(delivery)).toEqual([]);
  expect(readManifests(join(ROOT, 'dist')).filter(isCustomResource)).toEqual([]);
});
