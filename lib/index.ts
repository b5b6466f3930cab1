export * from './buildkit-chart';
export * from './buildkit-daemon';
export * from './buildkit-service';
export * from './cache-volume';
export * from './tls-bundle';
export * from './settings';
export { gcLimitsFor, renderBuildkitdToml } from './buildkitd-toml';
export type { GcLimits } from './buildkitd-toml';
export { synthesize } from './synth';
