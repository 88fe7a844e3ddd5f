// Serving a Coordinator: the gRPC server (TLS with the state directory's identity, or plaintext on
// loopback only) and the background thread that runs the lease sweep.
#ifndef TRIAD_COORDINATOR_SERVER_H_
#define TRIAD_COORDINATOR_SERVER_H_

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "coordinator/coordinator.h"
#include "crypto/secret.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/codegen/service_type.h"

namespace triad::coordinator {

struct ServeOptions {
  std::string listen;  // HOST:PORT; port 0 picks a free port
  // Plaintext, for tests and the quickstart on one machine: refused unless `listen` is loopback.
  bool insecure = false;
  const crypto::SecretBytes* tls_key_pem = nullptr;  // borrowed; needed unless insecure
  std::string tls_cert_pem;
  absl::Duration sweep_interval = absl::Seconds(1);
  // gRPC limits: the largest message either way, the threads serving calls (past them calls get
  // RESOURCE_EXHAUSTED), the transport's memory, and the streams one connection may open at once.
  int max_message_bytes = 16 << 20;
  int max_threads = 256;
  // The memory gRPC may take for its buffers, all calls together (its resource quota): near it,
  // reads shrink and streams' windows close, so many large uploads slow down instead of growing
  // the process.
  size_t max_transport_bytes = size_t{256} << 20;
  int max_concurrent_streams = 512;
};

class Server {
 public:
  // Starts serving `coordinator` (borrowed; must outlive the server) and the sweep thread.
  static absl::StatusOr<std::unique_ptr<Server>> Start(Coordinator& coordinator,
                                                       const ServeOptions& options);
  ~Server();  // Shutdown()

  // The bound port.
  int port() const { return port_; }
  // Stops accepting calls, cancels those in flight after `grace`, and stops the sweep thread.
  void Shutdown(absl::Duration grace = absl::Seconds(2));

 private:
  explicit Server(Coordinator& c) : coordinator_(c) {}
  void SweepLoop(absl::Duration interval);

  Coordinator& coordinator_;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::thread sweeper_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

}  // namespace triad::coordinator

#endif  // TRIAD_COORDINATOR_SERVER_H_
