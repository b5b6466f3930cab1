import { config, gitops } from './config';
import { serviceCharts } from './lib';
import { runCerts } from './lib/cli/certs';
import { certsResynth } from './lib/repository';

// The certificate commands serve the chart config.ts describes: the servers' SANs follow it, and a command
// that changes a daemon's certificates re-synthesizes dist/ (its pods roll on the checksum), from secrets/ only.
runCerts(process.argv.slice(2), (app) => serviceCharts(app, config), undefined, certsResynth({ root: __dirname, config, gitops })).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    console.error(`certs: ${err.message}`);
    process.exitCode = 1;
  },
);
