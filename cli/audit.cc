// triad audit export: a job's audit bundle (coordinator/bundle.h), for an auditor to verify
// offline.
#include <iostream>
#include <memory>

#include "base/file.h"
#include "base/status.h"
#include "cli/client.h"
#include "cli/command.h"
#include "triad/v1/audit.grpc.pb.h"

namespace triad::cli {
namespace {

struct ExportFlags {
  ClientFlags client;
  std::string job;
  std::string out;
};

absl::Status Export(const ExportFlags& f) {
  TRIAD_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, Connect(f.client));
  auto stub = v1::Audit::NewStub(channel);
  v1::ExportRequest req;
  req.set_job_id(f.job);
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  v1::ExportReply reply;
  TRIAD_RETURN_IF_ERROR(CallStatus(stub->ExportBundle(&ctx, req, &reply), f.client));
  if (f.out.empty() || f.out == "-") {
    std::cout << reply.bundle_json();
    return absl::OkStatus();
  }
  TRIAD_RETURN_IF_ERROR(base::WriteNewFile(f.out, reply.bundle_json(), 0644));
  std::cout << "wrote " << f.out << "\n";
  return absl::OkStatus();
}

}  // namespace

void AddAuditCommands(CLI::App& app, Context& ctx) {
  CLI::App* group =
      app.add_subcommand("audit", "What auditors check: a job's bundle of evidence and proofs");
  group->require_subcommand(1);
  auto e = std::make_shared<ExportFlags>();
  CLI::App* exp = group->add_subcommand("export",
                                        "Write a job's audit bundle: contract, job records, "
                                        "evidence, log entries with proofs, checkpoint");
  AddClientFlags(exp, e->client);
  exp->add_option("JOB", e->job, "The job's id")->required();
  exp->add_option("--out", e->out,
                  "The bundle file to create (never overwritten; default: standard output)");
  exp->callback([e, &ctx] {
    absl::Status st = Export(*e);
    ctx.exit_code = st.ok() ? kExitOk : Fail(st);
  });
}

}  // namespace triad::cli
