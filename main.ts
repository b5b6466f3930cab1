import { config } from './config';
import { BuildkitChart, synthesize } from './lib';

// `cdk8s synth` passes its output folder in CDK8S_OUTDIR; `npm run synth` writes dist/.
const outdir = process.env.CDK8S_OUTDIR ?? 'dist';
try {
  synthesize(outdir, (app) => new BuildkitChart(app, 'buildkit', config));
} catch (err) {
  console.error(`synth failed (${outdir}/ left as it was): ${(err as Error).message}`);
  process.exitCode = 1;
}
