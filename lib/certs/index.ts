// The certificate commands as a library, for programs and for charts composed by hand: build the app,
// take its plan, and call the commands with a context.
export { certsPlan } from './plan';
export type { CertsPlan, ServerPlan, ClientEndpoint } from './plan';
export { caGeneration, changeRecipients, check, CI_VARIABLES, exportClient, init, issueClient, revoke, rotate, sync } from './commands';
export type { CertsContext, CheckResult, ExportResult, InitOptions, IssueClientOptions, RotateOptions, SyncOptions, Validity } from './commands';
export { CertsUsageError } from './layout';
export { secretsProblems, SYNC_COMMAND } from './coherence';
