import { join } from 'node:path';
import { BuildkitChart, type BuildkitChartProps, runSynth } from '../../lib';

/**
 * Hardened mode: the builder in a namespace that enforces Pod Security "baseline". The daemon runs under
 * the Localhost seccomp profile the security-profiles-operator installs (its SeccompProfile is part of this
 * dist/, so the operator's CRD must be in the cluster), and the Localhost AppArmor profile
 * profiles/apparmor/buildkit-rootless loaded on the nodes.
 */
export const hardenedSettings: BuildkitChartProps = {
  podSecurity: 'baseline',
  seccompProfile: { install: 'operator' },
  appArmorProfile: 'buildkit-rootless',
};

runSynth(join(__dirname, 'dist'), (app) => new BuildkitChart(app, 'buildkit', hardenedSettings));
