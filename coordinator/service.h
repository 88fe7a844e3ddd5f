// The gRPC services (proto/triad/v1): Registry, Contracts, Jobs, Workers, Audit. Each is a thin
// adapter over Coordinator: it converts messages, streams chunks, and turns absl::Status into
// grpc::Status (same code, same message) at the edge.
#ifndef TRIAD_COORDINATOR_SERVICE_H_
#define TRIAD_COORDINATOR_SERVICE_H_

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "coordinator/coordinator.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/codegen/service_type.h"

namespace triad::coordinator {

// The size of the chunks the services stream out.
inline constexpr size_t kStreamChunkBytes = 1 << 20;

// The five services, borrowing `coordinator` (which must outlive them). Register each with a
// grpc::ServerBuilder.
std::vector<std::unique_ptr<grpc::Service>> NewServices(Coordinator& coordinator);

// The same code and message (FromGrpcStatus in client.h goes the other way).
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace triad::coordinator

#endif  // TRIAD_COORDINATOR_SERVICE_H_
