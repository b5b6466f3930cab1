import { App } from 'cdk8s';
import type { IConstruct } from 'constructs';
import { BuildkitDaemon } from './buildkit-daemon';
import { BuildkitEgressPolicy } from './buildkit-egress-policy';
import { BuildkitMetrics } from './buildkit-metrics';
import { BuildkitNetworkPolicy } from './buildkit-network-policy';
import { BuildkitService } from './buildkit-service';
import { constructsOf } from './construct-tree';
import { RegistryCache } from './registry-cache';

const safe = (name: string) => name.replace(/[^A-Za-z0-9]/g, '_');

/**
 * A Mermaid flowchart of what the app deploys, read from the construct tree: clients, LoadBalancers,
 * workloads with their replicas, caches, Secrets, ConfigMaps, metrics Services, NetworkPolicies and the
 * pull-through cache. It follows the configuration, since it is drawn from what was built.
 */
export function serviceDiagram(root: IConstruct): string {
  const header = ['flowchart LR', '  clients(["CI clients<br/>buildx remote driver, buildctl"])'];
  const tenants = root instanceof App ? root.charts : [];
  if (tenants.length < 2) return `${[...header, ...diagramBody(root, '')].join('\n')}\n`;
  // Tenants: one box each, its ids prefixed, so that two tenants' daemons of one name stay apart.
  const boxes = tenants.flatMap((chart) => [
    `  subgraph tenant_${safe(chart.node.id)}["tenant ${chart.node.id}"]`,
    ...diagramBody(chart, `${safe(chart.node.id)}__`),
    '  end',
  ]);
  return `${[...header, ...boxes].join('\n')}\n`;
}

function diagramBody(root: IConstruct, prefix: string): string[] {
  const id = (kind: string, name: string) => `${prefix}${kind}_${safe(name)}`;
  const of = <T>(type: abstract new (...args: never[]) => T) => constructsOf(root, type);
  const lines: string[] = [];
  for (const daemon of of(BuildkitDaemon)) {
    const d = id('workload', daemon.name);
    const kind = daemon.workloadKind === 'statefulset' ? 'StatefulSet' : 'Deployment';
    const arch = daemon.architecture ? `, ${daemon.architecture}` : '';
    lines.push(
      `  ${d}["${kind} ${daemon.name}<br/>${daemon.replicas} replica${daemon.replicas === 1 ? '' : 's'}${arch}, mutual TLS on ${daemon.port}"]`,
    );
    const cache = daemon.cache;
    const storage = cache.perReplica
      ? `a claim per replica, ${cache.size}`
      : cache.claim
        ? `claim ${cache.claim.name}, ${cache.size}`
        : `emptyDir ${cache.size}`;
    lines.push(`  ${id('cache', daemon.name)}[("cache: ${storage}")]`, `  ${d} --- ${id('cache', daemon.name)}`);
    lines.push(`  ${id('secret', daemon.tls.secretName)}{{"Secret ${daemon.tls.secretName}"}} -. certificates .-> ${d}`);
    lines.push(`  ${id('config', daemon.config.name)}[/"ConfigMap ${daemon.config.name}"/] -. buildkitd.toml .-> ${d}`);
  }
  for (const service of of(BuildkitService)) {
    const s = id('service', service.name);
    lines.push(
      `  ${s}["Service ${service.name}<br/>LoadBalancer ${service.loadBalancerIP}:${service.port}${service.podName ? `<br/>pod ${service.podName}` : ''}"]`,
    );
    lines.push(`  clients --> ${s}`, `  ${s} --> ${id('workload', service.daemon.name)}`);
  }
  for (const metrics of of(BuildkitMetrics)) {
    const m = id('metrics', metrics.service.name);
    lines.push(`  prometheus(["Prometheus"]) --> ${m}["Service ${metrics.service.name}<br/>ClusterIP, metrics"]`);
    lines.push(`  ${m} --> ${id('workload', metrics.daemon.name)}`);
  }
  for (const policy of of(BuildkitNetworkPolicy)) {
    lines.push(
      `  ${id('policy', policy.resource.name)}>"NetworkPolicy ${policy.resource.name}"] -. admits .-> ${id('workload', policy.daemon.name)}`,
    );
  }
  for (const policy of of(BuildkitEgressPolicy)) {
    const e = id('egress', policy.resource.name);
    lines.push(`  ${id('workload', policy.daemon.name)} -- egress --> ${e}>"may reach: ${policy.admits.join('<br/>')}"]`);
  }
  for (const cache of of(RegistryCache)) {
    const r = id('registry', cache.name);
    lines.push(`  ${r}["pull-through cache ${cache.name}<br/>${cache.endpoint}"]`);
    for (const daemon of of(BuildkitDaemon)) lines.push(`  ${id('workload', daemon.name)} -- docker.io mirror --> ${r}`);
    lines.push(`  ${r} --> hub(["upstream registry"])`);
  }
  return lines;
}

/** The markers between which the synth writes the diagram into the README. */
export const DIAGRAM_MARKERS = { start: '<!-- service-diagram:start (written by npm run synth) -->', end: '<!-- service-diagram:end -->' };

/** The README with the diagram between its markers; unchanged when it has none. */
export function withDiagram(readme: string, diagram: string): string {
  const start = readme.indexOf(DIAGRAM_MARKERS.start);
  const end = readme.indexOf(DIAGRAM_MARKERS.end);
  if (start < 0 || end < start) return readme;
  return `${readme.slice(0, start + DIAGRAM_MARKERS.start.length)}\n\`\`\`mermaid\n${diagram}\`\`\`\n${readme.slice(end)}`;
}
