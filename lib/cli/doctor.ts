import { parseArgs } from 'node:util';
import { diagnose, type FailureClass } from '../doctor/doctor';
import { type DoctorService, dialling } from '../doctor/service';
import { pickTenant } from '../tenants';
import { argumentProblem, asksForHelp, blankOption, wholeNumberUpTo } from './arguments';
import type { Output } from './certs';

const USAGE = 'usage: npm run doctor -- [--tenant NAME] [--addr tcp://HOST:PORT] --tlsdir DIR [--servername NAME] [--timeout SECONDS]';

const MAX_TIMEOUT_SECONDS = 3600;

/** Exit codes by what failed first, so CI can tell an outage from a certificate problem. */
export const EXIT_CODES: Record<FailureClass, number> = { bundle: 3, network: 4, certificate: 5, grpc: 6 };

/**
 * `npm run doctor -- ...`: parses, diagnoses, prints each step; returns the exit code. `services` reads
 * config.ts's services; a config.ts the synth refuses is one line and exit 2, as a usage error is.
 */
export async function runDoctor(
  argv: string[],
  services: () => ReadonlyMap<string | undefined, DoctorService>,
  io: Output = { log: console.log, error: console.error },
): Promise<number> {
  if (asksForHelp(argv)) {
    io.log(USAGE);
    return 0;
  }
  let configured: ReadonlyMap<string | undefined, DoctorService>;
  try {
    configured = services();
  } catch (err) {
    io.error(`doctor: config.ts: ${(err as Error).message}`);
    return 2;
  }
  let options: Omit<Parameters<typeof diagnose>[0], 'now'>;
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        addr: { type: 'string' },
        tenant: { type: 'string' },
        tlsdir: { type: 'string' },
        servername: { type: 'string' },
        timeout: { type: 'string', default: '5' },
      },
    });
    if (!values.tlsdir) throw new Error('--tlsdir DIR is required (the folder with ca.pem, cert.pem, key.pem)');
    const blank = blankOption(values); // --servername '' would check the address's name instead
    if (blank) throw new Error(`--${blank} needs a value, and got a blank one`);
    // Up to an hour: past 2^31 ms (24.8 days) Node's timers fire at once, and every dial would time out.
    const timeout = wholeNumberUpTo(values.timeout, MAX_TIMEOUT_SECONDS);
    if (timeout === undefined) throw new Error(`--timeout ${values.timeout}: use whole seconds from 1 to ${MAX_TIMEOUT_SECONDS}`);
    // Its address is dialled unless --addr is given (a native builder's, a replica's, a port-forward); its
    // namespace and tenant go into the hints either way, with the daemon behind the address dialled.
    const service = pickTenant(configured, values.tenant);
    const addr = values.addr ?? service.addr;
    options = {
      addr,
      tlsDir: values.tlsdir,
      servername: values.servername,
      timeoutMs: timeout * 1000,
      service: dialling(service, addr),
    };
  } catch (err) {
    io.error(`doctor: ${argumentProblem(err as Error)}`);
    io.error(USAGE);
    return 2;
  }
  try {
    const result = await diagnose({ ...options, now: new Date() }, (step) => {
      io.log(`${step.ok ? 'OK  ' : 'FAIL'} ${step.name}: ${step.detail}`);
      if (step.hint) io.log(`     hint: ${step.hint}`);
      for (const warning of step.warnings ?? []) io.log(`WARN ${step.name}: ${warning}`);
    });
    return result.failed ? EXIT_CODES[result.failed] : 0;
  } catch (err) {
    io.error(`doctor: ${(err as Error).message}`);
    return 2;
  }
}
