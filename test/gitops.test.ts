import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Chart, Testing } from 'cdk8s';
import { load } from 'js-yaml';
import { config, gitops } from '../config';
import { ArgoCdApplication } from '../lib/argocd-application';
import { BuildkitChart } from '../lib/buildkit-chart';
import type { BuildkitChartProps } from '../lib/buildkit-chart-props';
import { init } from '../lib/certs/commands';
import { paths } from '../lib/certs/layout';
import { FluxKustomizations } from '../lib/flux-kustomizations';
import { buildGitops, type GitopsSettings } from '../lib/gitops';
import { serviceCharts } from '../lib/tenants';
import { certsContext } from './support/certs';
import { find, synthChart } from './support/chart';
import { validateCustomResources } from './support/crd';
import { isCustomResource, ROOT, readManifests } from './support/dist';
import { keyPool } from './support/keys';

/** The delivery objects for a chart with these settings, as `npm run synth` writes them into gitops/dist/. */
function delivery(props: BuildkitChartProps = {}, settings: GitopsSettings = {}): any[] {
  const app = Testing.app();
  buildGitops(app, new Map([[undefined, new BuildkitChart(new App(), 'buildkit', props)]]), settings);
  return app.charts.flatMap((c) => Testing.synth(c));
}

describe("Flux, for the seed's service", () => {
  const seed = delivery();
  const secrets = find(seed, 'Kustomization', 'buildkitd-secrets');
  const service = find(seed, 'Kustomization', 'buildkitd');

  test('decrypts secrets/apps with the sops-age key', () => {
    expect(secrets.metadata.namespace).toBe('flux-system');
    expect(secrets.spec).toMatchObject({
      path: './secrets/apps',
      prune: true,
      decryption: { provider: 'sops', secretRef: { name: 'sops-age' } },
    });
  });

  test('applies dist/ after the Secrets, prunes, and is Ready only when the workload is', () => {
    expect(service.spec).toMatchObject({ path: './dist', prune: true, wait: true, dependsOn: [{ name: 'buildkitd-secrets' }] });
    expect(service.spec.healthChecks).toEqual([{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'buildkitd', namespace: 'buildkit' }]);
    expect(service.spec.decryption).toBeUndefined();
  });

  test('names no particular Git repository beyond a sourceRef', () => {
    expect(service.spec.sourceRef).toEqual({ kind: 'GitRepository', name: 'flux-system' });
    expect(seed.filter((m) => m.kind === 'GitRepository')).toEqual([]);
  });

  test('health-checks every daemon the chart runs: a StatefulSet and a native builder, in the configured namespace', () => {
    const objects = delivery(
      {
        namespace: 'ci',
        name: 'builder',
        workload: 'statefulset',
        architecture: 'amd64',
        nativeBuilders: [{ architecture: 'arm64', loadBalancerIP: '10.0.0.9' }],
      },
      { fluxSourceRef: { kind: 'OCIRepository', name: 'platform' } },
    );
    const svc = find(objects, 'Kustomization', 'builder');
    expect(svc.spec.healthChecks).toEqual([
      { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'builder', namespace: 'ci' },
      { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'builder-arm64', namespace: 'ci' },
    ]);
    expect(svc.spec.sourceRef).toEqual({ kind: 'OCIRepository', name: 'platform' });
    expect(svc.spec.dependsOn).toEqual([{ name: 'builder-secrets' }]);
    expect(validateCustomResources(objects.filter(isCustomResource))).toEqual([]);
  });

  test('waits as long as an honest rollout may take, read off the workloads: each replaced pod its drain and startup budget', () => {
    /** Seconds a rollout may take by the manifests: pods one at a time; a new pod waits for the old one's drain unless it surges. */
    const honest = (w: any) => {
      const pod = w.spec.template.spec;
      const startup = pod.containers[0].startupProbe.periodSeconds * pod.containers[0].startupProbe.failureThreshold;
      const surges = w.kind === 'Deployment' && w.spec.strategy.type === 'RollingUpdate';
      return w.spec.replicas * (startup + (surges ? 0 : pod.terminationGracePeriodSeconds));
    };
    const timeouts = (props: BuildkitChartProps) => {
      const app = new App();
      const objects = [...delivery(props), ...Testing.synth(new BuildkitChart(app, 'buildkit', props))];
      const workloads = objects.filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind) && o.metadata.namespace !== 'argocd');
      return {
        flux: Number(/^(\d+)m$/.exec(find(objects, 'Kustomization', 'buildkitd').spec.timeout)![1]) * 60,
        honest: Math.max(...workloads.map(honest)),
        deadlines: workloads.map((w) => w.spec.progressDeadlineSeconds),
      };
    };
    // The seed: a surge pod starts beside the draining one, so 10 minutes cover it.
    expect(timeouts({})).toEqual({ flux: 600, honest: 300, deadlines: [undefined] });
    // Three StatefulSet pods, each draining up to 1800 s and 30 s of grace, then 300 s to start: 107 minutes.
    const ha = timeouts({ workload: 'statefulset', replicas: 3 });
    expect(ha).toEqual({ flux: 107 * 60, honest: 3 * 2130, deadlines: [undefined] });
    // Recreate (one claim): the Deployment must not call the drain a stalled rollout, nor Flux a failed one.
    const claim = timeouts({ cache: { persistent: true } });
    expect(claim).toEqual({ flux: 36 * 60, honest: 2130, deadlines: [2130] });
    // Either side of the Deployment's own 600 s: 270 s of drain needs no more, 271 s does.
    expect(timeouts({ cache: { persistent: true }, drainTimeoutSeconds: 270 }).deadlines).toEqual([undefined]);
    expect(timeouts({ cache: { persistent: true }, drainTimeoutSeconds: 271 }).deadlines).toEqual([601]);
    // A parked builder rolls nothing; the 10 minutes stay.
    expect(timeouts({ workload: 'statefulset', replicas: 0 }).flux).toBe(600);
  });

  test('refuses a Kustomization with nothing to health-check, and unknown delivery settings', () => {
    expect(() => new FluxKustomizations(new Chart(Testing.app(), 'f'), 'k', { workloads: [] })).toThrow(
      /^FluxKustomizations: invalid workloads \[\]/,
    );
    expect(() => delivery({}, { repoUrl: 'https://x' } as any)).toThrow(/^gitops: unknown setting "repoUrl": did you mean "repoURL"\?$/);
    const workload = { kind: 'Deployment' as const, name: 'buildkitd', namespace: 'buildkit' };
    const kustomizations = (props: object) => () =>
      new FluxKustomizations(new Chart(Testing.app(), 'f'), 'k', { workloads: [workload], ...props });
    expect(kustomizations({ sourceRef: { kind: 'GitRepository', name: 'Flux_System' } })).toThrow(
      /^FluxKustomizations: invalid sourceRef\.name "Flux_System"/,
    );
    expect(kustomizations({ workloads: [{ ...workload, name: 'Bad_Name' }] })).toThrow(
      /^FluxKustomizations: invalid workloads\[0\]\.name "Bad_Name"/,
    );
    expect(kustomizations({ serviceAccountName: 'Bad_SA' })).toThrow(/^FluxKustomizations: invalid serviceAccountName "Bad_SA"/);
    expect(kustomizations({ name: 'Bad_Name' })).toThrow(/^FluxKustomizations: invalid name "Bad_Name"/);
  });

  test('the first reconcile has a namespace for the Secrets: init seeds one Flux creates only if missing', async () => {
    const root = join(mkdtempSync(join(tmpdir(), 'buildkit-ns-')), 'secrets');
    try {
      await init(certsContext(root, {}, { newKeyPair: keyPool(3) }));
      const ns = load(readFileSync(paths(root).namespace, 'utf8')) as any;
      expect(ns).toMatchObject({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'buildkit' } });
      expect(ns.metadata.annotations).toEqual({
        'kustomize.toolkit.fluxcd.io/ssa': 'IfNotPresent',
        'kustomize.toolkit.fluxcd.io/prune': 'disabled',
      });
      expect(find(synthChart({}), 'Namespace', 'buildkit').metadata.labels['pod-security.kubernetes.io/enforce']).toBe(
        ns.metadata.labels['pod-security.kubernetes.io/enforce'],
      );
    } finally {
      rmSync(join(root, '..'), { recursive: true, force: true });
    }
  });
});

describe("Argo CD, for the seed's service", () => {
  const app = find(delivery(), 'Application', 'buildkit');

  test('syncs dist/ as a plain directory without JSON files, pruning and self-healing', () => {
    expect(app.metadata.namespace).toBe('argocd');
    expect(app.spec.source).toMatchObject({ path: 'dist', targetRevision: 'main', directory: { recurse: false, exclude: '*.json' } });
    expect(app.spec.destination).toEqual({ server: 'https://kubernetes.default.svc', namespace: 'buildkit' });
    expect(app.spec.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
  });

  test('follows the configured repository, branch and namespace', () => {
    const moved = find(
      delivery({ namespace: 'ci' }, { repoURL: 'ssh://git@git.lan/ops/buildkit.git', targetRevision: 'prod' }),
      'Application',
      'buildkit',
    );
    expect(moved.spec.source).toMatchObject({ repoURL: 'ssh://git@git.lan/ops/buildkit.git', targetRevision: 'prod' });
    expect(moved.spec.destination.namespace).toBe('ci');
  });

  test("its project admits the service's Namespace by name; by kind alone with argocdClusterResourceNames: false", () => {
    const whitelist = (settings: GitopsSettings) =>
      find(delivery({ namespace: 'ci' }, settings), 'AppProject', 'buildkit').spec.clusterResourceWhitelist;
    expect(whitelist({})).toEqual([{ group: '', kind: 'Namespace', name: 'ci' }]);
    expect(whitelist({ argocdClusterResourceNames: true })).toEqual([{ group: '', kind: 'Namespace', name: 'ci' }]);
    expect(whitelist({ argocdClusterResourceNames: false })).toEqual([{ group: '', kind: 'Namespace' }]);
    expect(() => delivery({}, { argocdClusterResourceNames: 'false' as never })).toThrow(
      new Error('gitops: invalid argocdClusterResourceNames "false": use true or false (without quotes)'),
    );
  });

  test('refuses a repository URL Argo CD cannot clone', () => {
    expect(() => new ArgoCdApplication(Testing.chart(), 'a', { repoURL: 'not a url', namespace: 'buildkit' })).toThrow(
      /^ArgoCdApplication: invalid repoURL "not a url"/,
    );
  });
});

describe('the committed gitops/dist/ follows config.ts', () => {
  const committed = readManifests(join(ROOT, 'gitops/dist'));
  // The only chart, or each tenant's: a tenant's delivery objects are named after it.
  const services = [...serviceCharts(new App(), config)];
  const eachService = test.each(services.map(([tenant, service]) => [tenant ?? 'the service', tenant, service] as const));

  eachService('%s: the Flux health check names the configured workload in the configured namespace', (_title, tenant, service) => {
    const kind = service.daemon.workloadKind === 'statefulset' ? 'StatefulSet' : 'Deployment';
    const kustomization = find(committed, 'Kustomization', tenant ?? service.daemon.name);
    expect(kustomization.spec.healthChecks[0]).toEqual({
      apiVersion: 'apps/v1',
      kind,
      name: service.daemon.name,
      namespace: service.endpoint.namespace,
    });
  });

  eachService('%s: Argo CD deploys into the configured namespace from the configured repository', (_title, tenant, service) => {
    const applications = committed.filter((m) => m.kind === 'Application');
    const application = tenant ? find(applications, 'Application', tenant) : applications[0];
    expect(applications).toHaveLength(services.length);
    expect(application.spec.destination.namespace).toBe(service.endpoint.namespace);
    expect(application.spec.source.repoURL).toBe(gitops.repoURL ?? 'https://git.example.com/platform/buildkit-service.git');
  });

  test('every delivery object is valid for its CRD (the bootstrap RBAC against Kubernetes, in k8s-schema), and dist/ holds none of them', () => {
    const custom = committed.filter(isCustomResource);
    expect(custom.map((m) => m.kind).sort()).toEqual(
      services.flatMap(() => ['AppProject', 'Application', 'Kustomization', 'Kustomization']).sort(),
    );
    expect(validateCustomResources(custom)).toEqual([]);
    // dist/ may hold the chart's own custom resources (ServiceMonitor, PrometheusRule, SeccompProfile), never delivery objects.
    const deliveryGroups = /^(kustomize|source)\.toolkit\.fluxcd\.io\/|^argoproj\.io\//;
    expect(readManifests(join(ROOT, 'dist')).filter((m) => isCustomResource(m) && deliveryGroups.test(m.apiVersion))).toEqual([]);
    expect(custom.every((m) => deliveryGroups.test(m.apiVersion))).toBe(true);
  });
});
