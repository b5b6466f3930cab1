import { App } from 'cdk8s';
import { config } from './config';
import { serviceCharts } from './lib';
import { runDoctor } from './lib/cli/doctor';
import { doctorService } from './lib/doctor/service';

// Without --addr, the doctor dials the LoadBalancer that config.ts sets up (with tenants, --tenant's).
const services = new Map([...serviceCharts(new App(), config)].map(([tenant, chart]) => [tenant, doctorService(chart, tenant)]));
runDoctor(process.argv.slice(2), services).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    console.error(`doctor: ${err.message}`);
    process.exitCode = 1;
  },
);
