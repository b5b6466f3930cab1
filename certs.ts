import { config, gitops } from './config';
import { serviceCharts } from './lib';
import { runCerts } from './lib/cli/certs';
import { synthRepository } from './lib/repository';

// The certificate commands serve the chart config.ts describes: the servers' SANs follow it, and a command
// that changes a daemon's certificates re-synthesizes dist/ (its pods roll on the checksum).
runCerts(
  process.argv.slice(2),
  (app) => serviceCharts(app, config),
  undefined,
  (secrets) => synthRepository({ root: __dirname, config, gitops, secrets }),
).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    console.error(`certs: ${err.message}`);
    process.exitCode = 1;
  },
);
