import { type ChannelCredentials, type Client, loadPackageDefinition, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';

/**
 * The two RPCs the doctor calls, described in protobuf.js JSON: the standard gRPC health service, which
 * buildkitd registers, and BuildKit's Control.ListWorkers (field numbers from moby/buildkit
 * api/services/control/control.proto, api/types/worker.proto and solver/pb/ops.proto).
 */
const DESCRIPTOR = {
  nested: {
    grpc: {
      nested: {
        health: {
          nested: {
            v1: {
              nested: {
                HealthCheckRequest: { fields: { service: { type: 'string', id: 1 } } },
                HealthCheckResponse: {
                  fields: { status: { type: 'ServingStatus', id: 1 } },
                  nested: { ServingStatus: { values: { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } } },
                },
                Health: { methods: { Check: { requestType: 'HealthCheckRequest', responseType: 'HealthCheckResponse' } } },
              },
            },
          },
        },
      },
    },
    moby: {
      nested: {
        buildkit: {
          nested: {
            v1: {
              nested: {
                ListWorkersRequest: { fields: { filter: { rule: 'repeated', type: 'string', id: 1 } } },
                ListWorkersResponse: { fields: { record: { rule: 'repeated', type: 'moby.buildkit.v1.types.WorkerRecord', id: 1 } } },
                Control: { methods: { ListWorkers: { requestType: 'ListWorkersRequest', responseType: 'ListWorkersResponse' } } },
                types: {
                  nested: {
                    WorkerRecord: {
                      fields: {
                        ID: { type: 'string', id: 1 },
                        Labels: { keyType: 'string', type: 'string', id: 2 },
                        platforms: { rule: 'repeated', type: 'pb.Platform', id: 3 },
                        GCPolicy: { rule: 'repeated', type: 'GCPolicy', id: 4 },
                        BuildkitVersion: { type: 'BuildkitVersion', id: 5 },
                      },
                    },
                    // reservedSpace took over keepBytes' number (3) in v0.17; checked against a real v0.32.2 reply.
                    GCPolicy: {
                      fields: {
                        all: { type: 'bool', id: 1 },
                        keepDuration: { type: 'int64', id: 2 },
                        reservedSpace: { type: 'int64', id: 3 },
                        filters: { rule: 'repeated', type: 'string', id: 4 },
                        maxUsedSpace: { type: 'int64', id: 5 },
                        minFreeSpace: { type: 'int64', id: 6 },
                      },
                    },
                    BuildkitVersion: {
                      fields: {
                        package: { type: 'string', id: 1 },
                        version: { type: 'string', id: 2 },
                        revision: { type: 'string', id: 3 },
                        dockerfileVersion: { type: 'string', id: 4 },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
    pb: {
      nested: {
        Platform: {
          fields: { Architecture: { type: 'string', id: 1 }, OS: { type: 'string', id: 2 }, Variant: { type: 'string', id: 3 } },
        },
      },
    },
  },
};

/** The descriptor as protobuf.js JSON, for tests that decode real BuildKit replies with it. */
export const API_DESCRIPTOR = DESCRIPTOR;
/** A unary call: the reply's type is the caller's to state (never here, so any callback fits). */
type UnaryCall = (request: object, options: { deadline: number }, callback: (err: ServiceError | null, response: never) => void) => void;
type ClientConstructor = new (address: string, credentials: ChannelCredentials, options?: object) => Client & Record<string, UnaryCall>;
/** A gRPC service as grpc-js loads it from the descriptor: its client class, whose `service` servers implement. */
type LoadedService = ClientConstructor & { service: ServiceDefinition };
const api = loadPackageDefinition(
  fromJSON(DESCRIPTOR as Parameters<typeof fromJSON>[0], { keepCase: true, enums: String, longs: String, defaults: true }),
) as unknown as {
  grpc: { health: { v1: { Health: LoadedService } } };
  moby: { buildkit: { v1: { Control: LoadedService } } };
};

export const HealthClient: ClientConstructor = api.grpc.health.v1.Health;
export const ControlClient: ClientConstructor = api.moby.buildkit.v1.Control;
/** For test servers that stand in for buildkitd. */
export const healthService: ServiceDefinition = api.grpc.health.v1.Health.service;
export const controlService: ServiceDefinition = api.moby.buildkit.v1.Control.service;

/** One GC rule, sizes in bytes and the age in nanoseconds, as decimal strings (int64). */
export interface GcPolicy {
  all?: boolean;
  keepDuration?: string;
  filters?: string[];
  reservedSpace?: string;
  maxUsedSpace?: string;
  minFreeSpace?: string;
}

export interface WorkerRecord {
  ID: string;
  Labels: Record<string, string>;
  platforms: Array<{ Architecture: string; OS: string; Variant: string }>;
  GCPolicy?: GcPolicy[];
  BuildkitVersion?: { package: string; version: string; revision: string; dockerfileVersion?: string };
}
