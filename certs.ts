import { config, gitops } from './config';
import { runCerts } from './lib/cli/certs';
import { synthRepository } from './lib/repository';

// The certificate commands read the same settings as the chart: the server's SANs follow config.ts, and
// a command that changes the daemon's certificates re-synthesizes dist/ (its pods roll on the checksum).
runCerts(process.argv.slice(2), config, undefined, (secrets) => synthRepository({ root: __dirname, config, gitops, secrets }))
  .then((code) => { process.exitCode = code; });
