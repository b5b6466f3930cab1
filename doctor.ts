import { App } from 'cdk8s';
import { config } from './config';
import { serviceCharts } from './lib';
import { runDoctor } from './lib/cli/doctor';

// Without --addr, the doctor dials the LoadBalancer that config.ts sets up (with tenants, the first tenant's).
const { ips, port } = serviceCharts(new App(), config).values().next().value!.endpoint;
runDoctor(process.argv.slice(2), `tcp://${ips[0]}:${port}`).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    console.error(`doctor: ${err.message}`);
    process.exitCode = 1;
  },
);
