import { App } from 'cdk8s';
import { BuildkitChart, BuildkitChartProps } from '../../lib';
import { CertsContext } from '../../lib/certs/commands';
import { certsPlan } from '../../lib/certs/plan';
import { KeyPair } from '../../lib/pki/issue';

/** What the certificate commands serve for a BuildkitChart with these settings. */
export function chartPlan(settings: BuildkitChartProps = {}) {
  return certsPlan(new BuildkitChart(new App(), 'buildkit', settings));
}

/** A context for the certificate commands on `root`, serving a BuildkitChart with these settings. */
export function certsContext(root: string, settings: BuildkitChartProps, options: { log?: (l: string) => void; newKeyPair?: () => KeyPair; now?: Date } = {}): CertsContext {
  return { root, plan: chartPlan(settings), now: options.now ?? new Date(), log: options.log ?? (() => {}), newKeyPair: options.newKeyPair };
}
