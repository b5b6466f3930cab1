// The certificate commands as a library, for programs and for charts composed by hand: build the app,
// take its plan, and call the commands with a context.

export type { RotateOptions } from './ca-rotation';
export { revoke, rotate } from './ca-rotation';
export type { CheckResult } from './check';
export { check } from './check';
export { SYNC_COMMAND, secretsProblems } from './coherence';
export type { InitOptions, IssueClientOptions, SyncOptions } from './commands';
export { changeRecipients, init, issueClient, sync } from './commands';
export type { ExportResult } from './export';
export { CI_SECRETS, exportClient } from './export';
export type { CertsContext, Validity } from './issuing';
export { caGeneration } from './issuing';
export { CertsUsageError } from './layout';
export type { CertsPlan, ClientEndpoint, ServerPlan } from './plan';
export { certsPlan } from './plan';
