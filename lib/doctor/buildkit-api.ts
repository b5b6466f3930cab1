import { ChannelCredentials, Client, loadPackageDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';

/**
 * The two RPCs the doctor calls, described in protobuf.js JSON: the standard gRPC health service, which
 * buildkitd registers, and BuildKit's Control.ListWorkers (field numbers from moby/buildkit
 * api/services/control/control.proto, api/types/worker.proto and solver/pb/ops.proto).
 */
const DESCRIPTOR = {
  nested: {
    grpc: { nested: { health: { nested: { v1: { nested: {
      HealthCheckRequest: { fields: { service: { type: 'string', id: 1 } } },
      HealthCheckResponse: {
        fields: { status: { type: 'ServingStatus', id: 1 } },
        nested: { ServingStatus: { values: { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } } },
      },
      Health: { methods: { Check: { requestType: 'HealthCheckRequest', responseType: 'HealthCheckResponse' } } },
    } } } } } },
    moby: { nested: { buildkit: { nested: { v1: { nested: {
      ListWorkersRequest: { fields: { filter: { rule: 'repeated', type: 'string', id: 1 } } },
      ListWorkersResponse: { fields: { record: { rule: 'repeated', type: 'moby.buildkit.v1.types.WorkerRecord', id: 1 } } },
      Control: { methods: { ListWorkers: { requestType: 'ListWorkersRequest', responseType: 'ListWorkersResponse' } } },
      types: { nested: {
        WorkerRecord: { fields: {
          ID: { type: 'string', id: 1 },
          Labels: { keyType: 'string', type: 'string', id: 2 },
          platforms: { rule: 'repeated', type: 'pb.Platform', id: 3 },
          BuildkitVersion: { type: 'BuildkitVersion', id: 5 },
        } },
        BuildkitVersion: { fields: { package: { type: 'string', id: 1 }, version: { type: 'string', id: 2 }, revision: { type: 'string', id: 3 } } },
      } },
    } } } } } },
    pb: { nested: { Platform: { fields: { Architecture: { type: 'string', id: 1 }, OS: { type: 'string', id: 2 }, Variant: { type: 'string', id: 3 } } } } },
  },
};

const api = loadPackageDefinition(fromJSON(DESCRIPTOR as Parameters<typeof fromJSON>[0], { keepCase: true, enums: String, defaults: true })) as any;

type ClientConstructor = new (address: string, credentials: ChannelCredentials, options?: object) => Client & Record<string, Function>;
export const HealthClient: ClientConstructor = api.grpc.health.v1.Health;
export const ControlClient: ClientConstructor = api.moby.buildkit.v1.Control;
/** For test servers that stand in for buildkitd. */
export const healthService: ServiceDefinition = api.grpc.health.v1.Health.service;
export const controlService: ServiceDefinition = api.moby.buildkit.v1.Control.service;

export interface WorkerRecord {
  ID: string;
  Labels: Record<string, string>;
  platforms: Array<{ Architecture: string; OS: string; Variant: string }>;
  BuildkitVersion?: { package: string; version: string; revision: string };
}
