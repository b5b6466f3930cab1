import { config } from './config';
import { BuildkitChart, synthesize } from './lib';
import { daemonCertsRevision } from './lib/certs/commands';

// `cdk8s synth` passes its output folder in CDK8S_OUTDIR; `npm run synth` writes dist/.
const outdir = process.env.CDK8S_OUTDIR ?? 'dist';
try {
  // The encrypted certificate Secret's MAC changes with the certificates: the pods roll, and no secret enters dist/.
  const certRevision = daemonCertsRevision('secrets');
  synthesize(outdir, (app) => new BuildkitChart(app, 'buildkit', { certRevision, ...config }));
} catch (err) {
  console.error(`synth failed (${outdir}/ left as it was): ${(err as Error).message}`);
  process.exitCode = 1;
}
