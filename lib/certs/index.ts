// The certificate commands as a library, for programs and for charts composed by hand: build the app,
// take its plan, and call the commands with a context.
export { certsPlan } from './plan';
export type { CertsPlan, ServerPlan, ClientEndpoint } from './plan';
export { changeRecipients, init, issueClient, sync } from './commands';
export type { InitOptions, IssueClientOptions, SyncOptions } from './commands';
export { revoke, rotate } from './ca-rotation';
export type { RotateOptions } from './ca-rotation';
export { CI_VARIABLES, exportClient } from './export';
export type { ExportResult } from './export';
export { check } from './check';
export type { CheckResult } from './check';
export { caGeneration } from './issuing';
export type { CertsContext, Validity } from './issuing';
export { CertsUsageError } from './layout';
export { secretsProblems, SYNC_COMMAND } from './coherence';
