import { resolve } from 'path';
import { parseArgs } from 'util';
import { App } from 'cdk8s';
import { BuildkitChart, BuildkitChartProps } from '../buildkit-chart';
import { check, CertsContext, exportClient, init, issueClient, rotate, sync } from '../certs/commands';

const USAGE = `usage: npm run certs -- <command> [options]
  init [--recipient age1...]... [--ca-days N] [--server-days N] [--client-days N]
  issue-client NAME [--renew] [--days N] [--namespace NS]
  rotate [--ca | --finish-ca] [--server-days N]
  sync [--server-days N]          after a change in config.ts: re-home every Secret, re-issue the server certificate if needed
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

/**
 * Re-synthesizes what embeds the certificates' checksum (dist/), reading the given secrets/ folder;
 * returns the folders written.
 */
export type Resynthesize = (secretsRoot: string) => string[];

/** Commands after which dist/ must follow the changed daemon Secret. */
const CHANGES_DIST = new Set(['init', 'rotate', 'sync']);

/**
 * `npm run certs -- ...`: parses, calls lib/certs, prints; returns the exit code (0 ok, 1 a check or the
 * command failed, 2 usage). With `resynth`, init, rotate and sync re-synthesize dist/ in the same step.
 */
export async function runCerts(argv: string[], chart: BuildkitChartProps, io: Output = { log: console.log, error: console.error },
  resynth?: Resynthesize): Promise<number> {
  const code = await runCommand(argv, chart, io);
  const command = argv.find((a) => !a.startsWith('-'));
  if (code !== 0 || !resynth || !command || !CHANGES_DIST.has(command)) return code;
  const { values } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  try {
    io.log(`synthesized ${resynth(resolve(values.secrets)).join('/, ')}/: commit them with secrets/`);
    return 0;
  } catch (err) {
    io.error(`certs: ${command} is done, but the synth that follows it failed: ${(err as Error).message}`);
    return 1;
  }
}

async function runCommand(argv: string[], chart: BuildkitChartProps, io: Output): Promise<number> {
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
      clientNamespace: service.clientNamespace,
      now: new Date(),
      log,
    };
    switch (command) {
      case 'init':
        if (o['client-namespace']) throw new UsageError('--client-namespace is a setting now: set clientNamespace in config.ts, then run init or sync');
        await init(ctx, {
          extraRecipients: o.recipient,
          caDays: days(o['ca-days'], 'ca-days'), serverDays: days(o['server-days'], 'server-days'), clientDays: days(o['client-days'], 'client-days'),
        });
        return 0;
      case 'issue-client':
        await issueClient(ctx, need('a client NAME'), { renew: o.renew, days: days(o.days, 'days'), namespace: o.namespace });
        return 0;
      case 'rotate':
        await rotate(ctx, { ca: o.ca, finishCa: o['finish-ca'], serverDays: days(o['server-days'], 'server-days') });
        return 0;
      case 'sync':
        await sync(ctx, { serverDays: days(o['server-days'], 'server-days') });
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
