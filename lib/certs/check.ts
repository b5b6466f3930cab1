import { existsSync } from 'node:fs';
import { type CertificateReport, certificateSans, checkCertificate, splitPemBundle } from '../pki/check';
import { type CaState, type CertsContext, caGeneration, caLabel, chainsTo, trustBundle } from './issuing';
import { IN_CLUSTER_CLIENT, plainMetadata, SANS_ANNOTATION } from './layout';
import { SERVER_HINT, SecretsStore } from './secrets-store';

export interface CheckResult {
  readonly reports: CertificateReport[];
  /** The CA rotation phase and who still needs a new bundle, when one is under way. */
  readonly notes: string[];
  readonly ok: boolean;
}

/**
 * Reports on every certificate against what the app serves now: expiry, names, chains, purpose, trust
 * anchors and the rotation phase. With the age key it decrypts each bundle, also checks every key against
 * its certificate and the public copies against the encrypted ones; without it (CI) it reads the public copies.
 */
export async function check(ctx: CertsContext, minDaysLeft = 30): Promise<CheckResult> {
  const store = new SecretsStore(ctx);
  const notes: string[] = store.hasKey()
    ? []
    : [`no age key: checked the public copies in ${store.rel(store.p.public)}; run with the key to check each key against its certificate`];
  const ca = await store.certificates(store.p.ca, 'run `npm run certs -- init`');
  const state: CaState = { ca: { certPem: ca.data['ca.pem'], keyPem: ca.data['ca.key'] }, previousCaPem: ca.data['previous-ca.pem'] };
  const common = { now: ctx.now, minDaysLeft };
  // An expiry names the command that renews that certificate: CI prints it, where nobody holds the key.
  const renewal = (report: CertificateReport, how: string) => {
    report.problems.forEach((p, i) => {
      if (p.startsWith('expire')) report.problems[i] = `${p}: renew with ${how}`;
    });
    return report;
  };
  const reports = [
    renewal(
      checkCertificate({
        ...common,
        label: `CA ${caGeneration(state.ca.certPem)}`,
        certPem: state.ca.certPem,
        keyPem: state.ca.keyPem,
        caPem: state.ca.certPem,
        role: 'ca',
      }),
      '`npm run certs -- rotate --ca`, then renew every client and `npm run certs -- rotate --finish-ca`',
    ),
  ];
  reports[0].problems.push(...ca.problems);
  // Outside a rotation every bundle trusts the current CA alone; during one, at most the retiring CA besides.
  const allowed = new Set([state.ca.certPem, state.previousCaPem].filter((p): p is string => !!p).map((p) => p.trim()));
  const anchorProblems = (bundlePem: string, must: 'current' | 'rotation'): string[] => {
    const anchors = splitPemBundle(bundlePem).map((p) => p.trim());
    if (!state.previousCaPem) {
      const others = anchors.filter((a) => a !== state.ca.certPem.trim()).length;
      return others || anchors.length === 0
        ? [
            `its ca.pem trusts ${others} certificate(s) besides the current CA (a retired or a foreign CA); it must trust the current CA alone: re-issue it`,
          ]
        : [];
    }
    const strangers = anchors.filter((a) => !allowed.has(a)).length;
    const problems = strangers ? [`its ca.pem trusts ${strangers} certificate(s) that are no CA of this repository: re-issue it`] : [];
    if (must === 'rotation' && anchors.length !== 2)
      problems.push(
        'mid-rotation the daemon must trust the retiring and the current CA: restore secrets/ from git, then `npm run certs -- rotate --ca`',
      );
    return problems;
  };
  const daemonTrust: string[] = [];
  for (const server of ctx.plan.servers) {
    const path = store.p.server(server.secretName);
    const { data, problems } = await store.certificates(path, SERVER_HINT);
    const report = renewal(
      checkCertificate({
        ...common,
        label: `server (${server.secretName})`,
        certPem: data['cert.pem'],
        keyPem: data['key.pem'],
        caPem: trustBundle(state),
        mustCover: server,
        role: 'server',
      }),
      '`npm run certs -- rotate`',
    );
    if (!splitPemBundle(data['ca.pem']).some((p) => p.trim() === state.ca.certPem.trim()))
      report.problems.push('the daemon does not trust the current CA: run rotate');
    report.problems.push(...anchorProblems(data['ca.pem'], 'rotation'), ...problems);
    // What synth and CI read without the key must be what the certificate says.
    if (plainMetadata(path).annotations?.[SANS_ANNOTATION] !== certificateSans(data['cert.pem']).join(',')) {
      report.problems.push(`its ${SANS_ANNOTATION} annotation does not list the certificate's SANs: run \`npm run certs -- sync\``);
    }
    reports.push(report);
    daemonTrust.push(data['ca.pem']);
  }
  const retiring: string[] = [];
  for (const name of [IN_CLUSTER_CLIENT, ...store.clientNames()]) {
    if (!existsSync(store.p.client(name))) continue;
    const { data, problems } = await store.certificates(store.p.client(name), '');
    // A client must chain to a CA every daemon trusts, and verify the servers with its own ca.pem.
    const issuer = [state.ca.certPem, state.previousCaPem].find((ca): ca is string => !!ca && chainsTo(data['cert.pem'], ca));
    const label = `client ${name}${issuer ? `, chains to ${caLabel(issuer, state)}` : ''}`;
    const report = renewal(
      checkCertificate({
        ...common,
        label,
        certPem: data['cert.pem'],
        keyPem: data['key.pem'],
        caPem: daemonTrust.join(''),
        role: 'client',
      }),
      `\`npm run certs -- issue-client ${name} --renew\`, then export it`,
    );
    report.problems.push(...anchorProblems(data['ca.pem'], 'current'), ...problems);
    if (issuer && issuer !== state.ca.certPem) retiring.push(name);
    if (!issuer)
      report.problems.push(`chains to no CA of this repository: re-issue it with \`npm run certs -- issue-client ${name} --renew\``);
    reports.push(report);
  }
  if (state.previousCaPem) {
    notes.push(
      `CA rotation under way (phase 1): the daemons trust CA ${caGeneration(state.previousCaPem)} (retiring) and CA ${caGeneration(state.ca.certPem)} (current)`,
    );
    notes.push(
      retiring.length
        ? `still on the retiring CA: ${retiring.join(', ')}: \`npm run certs -- issue-client NAME --renew\` each, then \`npm run certs -- rotate --finish-ca\``
        : 'every client is on the current CA: `npm run certs -- rotate --finish-ca` ends the rotation',
    );
  }
  return { reports, notes, ok: reports.every((r) => r.problems.length === 0) };
}
