// NCCL all-reduce for data parallelism over the GPUs of one process. Compiled only when the
// LibTorch found has CUDA and nccl.h is there (TRIAD_HAVE_NCCL).
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <nccl.h>

#include <string>

#include "trainer/internal/communicator.h"

namespace triad::trainer::internal {
namespace {

class NcclCommunicator : public Communicator {
 public:
  NcclCommunicator(ncclComm_t comm, int rank, int n, int device)
      : comm_(comm), rank_(rank), n_(n), device_(device) {}
  ~NcclCommunicator() override { ncclCommDestroy(comm_); }
  void Abort() override { ncclCommAbort(comm_), aborted_ = true; }
  int rank() const override { return rank_; }
  int world_size() const override { return n_; }
  Status AllReduceSum(float* data, size_t count) override {
    if (aborted_) return Internal("NCCL all-reduce: another rank failed");
    c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device_));
    cudaStream_t stream =
        c10::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(device_)).stream();
    ncclResult_t r = ncclAllReduce(data, data, count, ncclFloat32, ncclSum, comm_, stream);
    if (r != ncclSuccess) return Internal(std::string("NCCL all-reduce: ") + ncclGetErrorString(r));
    cudaError_t e = cudaStreamSynchronize(stream);
    if (e != cudaSuccess) return Internal(std::string("NCCL all-reduce: ") + cudaGetErrorString(e));
    return Status::Ok();
  }

 private:
  ncclComm_t comm_;
  int rank_, n_, device_;
  bool aborted_ = false;
};

}  // namespace

Result<std::vector<std::unique_ptr<Communicator>>> MakeNcclCommunicators(
    const std::vector<int>& devices) {
  std::vector<ncclComm_t> comms(devices.size());
  ncclResult_t r = ncclCommInitAll(comms.data(), static_cast<int>(devices.size()), devices.data());
  if (r != ncclSuccess) return Internal(std::string("NCCL init: ") + ncclGetErrorString(r));
  std::vector<std::unique_ptr<Communicator>> out;
  for (size_t i = 0; i < devices.size(); ++i) {
    out.push_back(std::make_unique<NcclCommunicator>(comms[i], static_cast<int>(i),
                                                     static_cast<int>(devices.size()), devices[i]));
  }
  return out;
}

}  // namespace triad::trainer::internal
