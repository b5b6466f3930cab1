import { config } from './config';
import { runCerts } from './lib/cli/certs';

// The certificate commands read the same settings as the chart: the server's SANs follow config.ts.
runCerts(process.argv.slice(2), config).then((code) => { process.exitCode = code; });
