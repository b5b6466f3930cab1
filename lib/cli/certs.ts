import { resolve } from 'path';
import { parseArgs } from 'util';
import { App } from 'cdk8s';
import { BuildkitChart, BuildkitChartProps } from '../buildkit-chart';
import { check, CertsContext, exportClient, init, issueClient, rotate } from '../certs/commands';

const USAGE = `usage: npm run certs -- <command> [options]
  init [--recipient age1...]... [--client-namespace NS] [--ca-days N] [--server-days N] [--client-days N]
  issue-client NAME [--renew] [--days N] [--namespace NS]
  rotate [--ca | --finish-ca] [--server-days N]
  export NAME --out DIR
  check [--min-days N]
common: --secrets DIR (default secrets)`;

const OPTIONS = {
  'secrets': { type: 'string', default: 'secrets' },
  'recipient': { type: 'string', multiple: true },
  'client-namespace': { type: 'string' },
  'namespace': { type: 'string' },
  'ca-days': { type: 'string' },
  'server-days': { type: 'string' },
  'client-days': { type: 'string' },
  'days': { type: 'string' },
  'min-days': { type: 'string' },
  'renew': { type: 'boolean' },
  'ca': { type: 'boolean' },
  'finish-ca': { type: 'boolean' },
  'out': { type: 'string' },
} as const;

class UsageError extends Error {}

function days(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`--${flag} ${value}: use a whole number of days, at least 1`);
  return Number(value);
}

export interface Output {
  readonly log: (...lines: string[]) => void;
  readonly error: (line: string) => void;
}

/** `npm run certs -- ...`: parses, calls lib/certs, prints; returns the exit code. */
export async function runCerts(argv: string[], chart: BuildkitChartProps, io: Output = { log: console.log, error: console.error }): Promise<number> {
  const { log } = io;
  try {
    const { values: o, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
    const [command, name, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected ${extra.join(' ')}`);
    const need = (what: string) => { if (!name) throw new UsageError(`${command} needs ${what}`); return name; };
    // The chart decides what the certificates must cover and which Secret the daemon mounts.
    const service = new BuildkitChart(new App(), 'buildkit', chart);
    const ctx: CertsContext = {
      root: resolve(o.secrets),
      endpoint: service.endpoint,
      daemonSecretName: service.daemon.tls.secretName,
      now: new Date(),
      log,
    };
    switch (command) {
      case 'init':
        await init(ctx, {
          extraRecipients: o.recipient, clientNamespace: o['client-namespace'],
          caDays: days(o['ca-days'], 'ca-days'), serverDays: days(o['server-days'], 'server-days'), clientDays: days(o['client-days'], 'client-days'),
        });
        return 0;
      case 'issue-client':
        await issueClient(ctx, need('a client NAME'), { renew: o.renew, days: days(o.days, 'days'), namespace: o.namespace });
        return 0;
      case 'rotate':
        await rotate(ctx, { ca: o.ca, finishCa: o['finish-ca'], serverDays: days(o['server-days'], 'server-days') });
        log('next: npm run synth (the pods roll on the new certificates), then commit secrets/ and dist/');
        return 0;
      case 'export': {
        if (!o.out) throw new UsageError('export needs --out DIR');
        const result = await exportClient(ctx, need('a client NAME'), o.out);
        log('', ...result.commands);
        return 0;
      }
      case 'check': {
        const result = await check(ctx, days(o['min-days'], 'min-days'));
        for (const r of result.reports) {
          log(`${r.problems.length ? 'FAIL' : 'OK  '} ${r.label}: ${r.subject}; issuer ${r.issuer}; not after ${r.notAfter.toISOString()} (${r.daysLeft} days)${r.sans.length ? `; SANs ${r.sans.join(', ')}` : ''}`);
        }
        for (const r of result.reports) for (const p of r.problems) log(`${r.label}: ${p}`);
        return result.ok ? 0 : 1;
      }
      default:
        throw new UsageError(command ? `unknown command ${command}` : 'no command');
    }
  } catch (err) {
    const usage = err instanceof UsageError || String((err as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS');
    io.error(`certs: ${(err as Error).message}`);
    if (usage) io.error(USAGE);
    return usage ? 2 : 1;
  }
}
