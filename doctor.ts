import { config } from './config';
import { runDoctor } from './lib/cli/doctor';
import { doctorServices } from './lib/doctor/service';

// Without --addr, the doctor dials the LoadBalancer that config.ts sets up (with tenants, --tenant's).
runDoctor(process.argv.slice(2), () => doctorServices(config)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    console.error(`doctor: ${err.message}`);
    process.exitCode = 1;
  },
);
