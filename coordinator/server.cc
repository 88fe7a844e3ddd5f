#include "coordinator/server.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "coordinator/client.h"
#include "coordinator/service.h"
#include "spdlog/spdlog.h"

namespace triad::coordinator {

absl::StatusOr<std::unique_ptr<Server>> Server::Start(Coordinator& coordinator,
                                                      const ServeOptions& options) {
  std::shared_ptr<grpc::ServerCredentials> creds;
  if (options.insecure) {
    if (!IsLoopbackAddress(options.listen)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "plaintext serving is allowed only on a loopback address, not ", options.listen));
    }
    creds = grpc::InsecureServerCredentials();
  } else {
    if (options.tls_key_pem == nullptr || options.tls_cert_pem.empty()) {
      return absl::InvalidArgumentError("serving TLS needs the key and the certificate");
    }
    grpc::SslServerCredentialsOptions ssl;
    // gRPC takes the key as a std::string; it lives as long as the server's credentials.
    ssl.pem_key_cert_pairs.push_back(
        {std::string(options.tls_key_pem->view()), options.tls_cert_pem});
    creds = grpc::SslServerCredentials(ssl);
  }
  if (coordinator.options().max_waiting_calls >= options.max_threads) {
    return absl::InvalidArgumentError(
        absl::StrCat("the coordinator may hold ", coordinator.options().max_waiting_calls,
                     " waiting calls, which leaves none of the server's ", options.max_threads,
                     " threads for calls that answer at once"));
  }
  std::unique_ptr<Server> s(new Server(coordinator));
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, creds, &s->port_);
  // Chunks are 1 MiB; evidence with collateral can reach a few MiB.
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  // Bounded: a flood of calls or streams is refused (RESOURCE_EXHAUSTED) instead of growing
  // threads and memory without end.
  grpc::ResourceQuota quota("triad-coordinator");
  quota.SetMaxThreads(options.max_threads);
  quota.Resize(options.max_transport_bytes);
  builder.SetResourceQuota(quota);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options.max_concurrent_streams);
  s->services_ = NewServices(coordinator);
  for (const auto& service : s->services_) builder.RegisterService(service.get());
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr || s->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen));
  }
  s->sweeper_ =
      std::thread([srv = s.get(), interval = options.sweep_interval] { srv->SweepLoop(interval); });
  return s;
}

void Server::SweepLoop(absl::Duration interval) {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    absl::StatusOr<int> changed = coordinator_.Sweep();
    if (!changed.ok()) {
      spdlog::error("lease sweep: {}", std::string(changed.status().message()));
    } else if (*changed > 0) {
      spdlog::info("lease sweep: {} job(s) requeued or failed", *changed);
    }
    lock.lock();
    cv_.wait_for(lock, absl::ToChronoNanoseconds(interval), [this] { return stopping_; });
  }
}

void Server::Shutdown(absl::Duration grace) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (server_ != nullptr)
    server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(grace));
  if (sweeper_.joinable()) sweeper_.join();
}

Server::~Server() { Shutdown(); }

}  // namespace triad::coordinator
