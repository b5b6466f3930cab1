import { Testing } from 'cdk8s';
import { BuildkitChart } from '../../lib/buildkit-chart';
import type { BuildkitChartProps } from '../../lib/buildkit-chart-props';

/** The chart's manifests as Flux would apply them. */
export function synthChart(props: BuildkitChartProps = {}): any[] {
  return Testing.synth(new BuildkitChart(Testing.app(), 'buildkit', props));
}

export function find(manifests: any[], kind: string, name: string): any {
  const found = manifests.find((m) => m.kind === kind && m.metadata?.name === name);
  if (!found) throw new Error(`no ${kind}/${name} in ${manifests.map((m) => `${m.kind}/${m.metadata?.name}`).join(', ')}`);
  return found;
}

/** The one container of the buildkitd workload. */
export function daemonContainer(manifests: any[], kind = 'Deployment', name = 'buildkitd'): any {
  return find(manifests, kind, name).spec.template.spec.containers[0];
}
