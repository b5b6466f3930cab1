import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'cdk8s';
import { config, gitops } from '../config';
import { BuildkitChart } from '../lib/buildkit-chart';
import type { BuildkitChartProps } from '../lib/buildkit-chart-props';
import { outputProblems, repositoryDiagram, synthRepository } from '../lib/repository';
import { DIAGRAM_MARKERS, serviceDiagram, withDiagram } from '../lib/service-diagram';
import { serviceCharts } from '../lib/tenants';
import { ROOT } from './support/dist';

/** Every expected line is in the diagram; the missing ones are named together. */
const expectLines = (d: string, lines: string[]) => expect(lines.filter((l) => !d.includes(l))).toEqual([]);
const diagram = (props: BuildkitChartProps) => serviceDiagram(new BuildkitChart(new App(), 'buildkit', props));

test('the seed: clients, the LoadBalancer, one Deployment with its emptyDir cache, Secret and ConfigMap', () => {
  const d = diagram({});
  expect(d.split('\n')[0]).toBe('flowchart LR');
  expectLines(d, [
    'service_buildkitd["Service buildkitd<br/>LoadBalancer 192.168.80.110:1234"]',
    'workload_buildkitd["Deployment buildkitd<br/>1 replica, mutual TLS on 1234"]',
    'cache_buildkitd[("cache: emptyDir 50Gi")]',
    'secret_buildkit_daemon_certs{{"Secret buildkit-daemon-certs"}} -. certificates .-> workload_buildkitd',
  ]);
  expect(d).not.toMatch(/metrics|pull-through/);
  expectLines(d, [
    'policy_buildkitd>"NetworkPolicy buildkitd"] -. admits .-> workload_buildkitd',
    'workload_buildkitd -- egress --> egress_buildkitd_egress>"may reach: cluster DNS<br/>public addresses"]',
  ]);
});

test('egress draws each destination it admits, and nothing when it is off', () => {
  const d = diagram({
    registryCache: { size: '20Gi' },
    egress: {
      allow: [
        { cidr: '192.168.1.20/32', port: 3000 },
        { namespace: 'gitea', podLabels: { app: 'gitea' }, port: 53, protocol: 'UDP' },
      ],
    },
  });
  expectLines(d, [
    'workload_buildkitd -- egress --> egress_buildkitd_egress>"may reach: cluster DNS<br/>public addresses<br/>pods buildkit-registry-cache port 5000<br/>192.168.1.20/32 port 3000<br/>namespace gitea pods app=gitea port 53/UDP"]',
  ]);
  expect(diagram({ egress: { enabled: false }, networkPolicy: { enabled: false } })).not.toMatch(/egress|NetworkPolicy/);
});

test('it follows the configuration: replicas, per-replica addresses, native builders, metrics, policies, the pull-through cache', () => {
  const d = diagram({
    workload: 'statefulset',
    replicas: 2,
    cache: { persistent: true },
    perReplicaIPs: ['10.0.0.1', '10.0.0.2'],
    loadBalancerIP: '10.0.0.10',
    architecture: 'amd64',
    nativeBuilders: [{ architecture: 'arm64', loadBalancerIP: '10.0.0.20' }],
    metrics: {},
    networkPolicy: {},
    registryCache: { size: '20Gi' },
  });
  expectLines(d, [
    'workload_buildkitd["StatefulSet buildkitd<br/>2 replicas, amd64, mutual TLS on 1234"]',
    'cache_buildkitd[("cache: a claim per replica, 50Gi")]',
    'service_buildkitd_1["Service buildkitd-1<br/>LoadBalancer 10.0.0.2:1234<br/>pod buildkitd-1"]',
    'workload_buildkitd_arm64["StatefulSet buildkitd-arm64<br/>1 replica, arm64, mutual TLS on 1234"]',
    'clients --> service_buildkitd_arm64',
    'prometheus(["Prometheus"]) --> metrics_buildkitd_metrics',
    'policy_buildkitd>"NetworkPolicy buildkitd"] -. admits .-> workload_buildkitd',
    'workload_buildkitd_arm64 -- docker.io mirror --> registry_buildkit_registry_cache',
    'workload_buildkitd -- docker.io mirror --> registry_buildkit_registry_cache',
    'registry_buildkit_registry_cache["pull-through cache buildkit-registry-cache<br/>buildkit-registry-cache:5000"]',
    'registry_buildkit_registry_cache --> hub(["upstream registry"])',
    'metrics_buildkitd_arm64_metrics --> workload_buildkitd_arm64',
    'policy_buildkitd_arm64>"NetworkPolicy buildkitd-arm64"] -. admits .-> workload_buildkitd_arm64',
  ]);
  expect(d.split('\n').filter((l) => l.trim() === '')).toEqual(['']);
});

test("the synth writes it between the README's markers, and verify finds a stale one", () => {
  expect(withDiagram('no markers here\n', 'x\n')).toBe('no markers here\n');
  expect(DIAGRAM_MARKERS).toEqual({
    start: '<!-- service-diagram:start (written by npm run synth) -->',
    end: '<!-- service-diagram:end -->',
  });
  // Markers at the very start, and markers in the wrong order (left alone).
  expect(withDiagram(`${DIAGRAM_MARKERS.start}${DIAGRAM_MARKERS.end}`, 'x\n')).toBe(
    `${DIAGRAM_MARKERS.start}\n\`\`\`mermaid\nx\n\`\`\`\n${DIAGRAM_MARKERS.end}`,
  );
  expect(withDiagram(`${DIAGRAM_MARKERS.end}\n${DIAGRAM_MARKERS.start}`, 'x\n')).toBe(`${DIAGRAM_MARKERS.end}\n${DIAGRAM_MARKERS.start}`);
  expect(withDiagram(`a\n${DIAGRAM_MARKERS.start}\nold\n${DIAGRAM_MARKERS.end}\nb\n`, 'flowchart LR\n')).toBe(
    `a\n${DIAGRAM_MARKERS.start}\n\`\`\`mermaid\nflowchart LR\n\`\`\`\n${DIAGRAM_MARKERS.end}\nb\n`,
  );
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  expect(readme).toContain(repositoryDiagram(serviceCharts(new App(), config)));
  const work = mkdtempSync(join(tmpdir(), 'buildkit-diagram-'));
  try {
    for (const dir of ['dist', 'gitops/dist']) cpSync(join(ROOT, dir), join(work, dir), { recursive: true });
    writeFileSync(join(work, 'README.md'), withDiagram(readme, 'flowchart LR\n  stale\n'));
    expect(outputProblems({ root: work, config, gitops, secrets: join(ROOT, 'secrets') })).toEqual([
      'README.md: the service diagram is stale: run `npm run synth` and commit README.md',
    ]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('the synth rewrites README.md only when its diagram changed, and leaves it as it was when the synth fails', () => {
  const root = mkdtempSync(join(tmpdir(), 'buildkit-readme-'));
  const readme = join(root, 'README.md');
  const settings = { root }; // no secrets/ in it: as in a fresh clone, nothing to check them against
  try {
    const stale = `# builders\n${DIAGRAM_MARKERS.start}\nold\n${DIAGRAM_MARKERS.end}\n`;
    writeFileSync(readme, stale);
    expect(synthRepository({ ...settings, config: {} })).toEqual(['dist', 'gitops/dist', 'README.md']);
    const written = readFileSync(readme, 'utf8');
    expect(written).toBe(withDiagram(stale, repositoryDiagram(serviceCharts(new App(), {}))));
    expect(synthRepository({ ...settings, config: {} })).toEqual(['dist', 'gitops/dist']);
    // Another diagram, staged, then a clash refused by the synth: README.md unchanged, no staging file left.
    const clash = { registryCache: { size: '50Gi', name: 'buildkitd' } };
    expect(repositoryDiagram(serviceCharts(new App(), clash))).not.toBe(repositoryDiagram(serviceCharts(new App(), {})));
    expect(() => synthRepository({ ...settings, config: clash })).toThrow(/^two objects are ConfigMap buildkit\/buildkitd-config: /);
    expect(readFileSync(readme, 'utf8')).toBe(written);
    expect(readdirSync(root).sort()).toEqual(['README.md', 'dist', 'gitops']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
