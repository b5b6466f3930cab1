import { config } from './config';
import { BuildkitChart, runSynth } from './lib';
import { daemonCertsRevision } from './lib/certs/layout';

// The encrypted certificate Secret's MAC changes with the certificates: the pods roll, and no secret enters dist/.
runSynth('dist', (app) => new BuildkitChart(app, 'buildkit', { certRevision: daemonCertsRevision('secrets'), ...config }));
