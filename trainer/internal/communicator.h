// Data parallelism: ranks each hold a model replica, train on their share of every optimizer step's
// micro-batches, and sum their LoRA gradients with AllReduceSum before the (identical) optimizer
// step. Torch-free: buffers are raw float pointers on the rank's device.
#ifndef TRIAD_TRAINER_INTERNAL_COMMUNICATOR_H_
#define TRIAD_TRAINER_INTERNAL_COMMUNICATOR_H_

#include <memory>
#include <vector>

#include "trainer/status.h"

namespace triad::trainer::internal {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  // Replaces data[0..count) on every rank with the element-wise sum over ranks. Every rank must
  // call it with the same count, in the same order. Blocks until the sum is in place.
  virtual Status AllReduceSum(float* data, size_t count) = 0;
  // Called by a rank that fails, so that the others stop waiting for it: every pending and later
  // AllReduceSum on any rank of the group fails.
  virtual void Abort() = 0;
};

// `n` in-process ranks (one per thread) that sum through shared memory, in rank order, so the
// result is bit-identical on every rank and from run to run. For CPU data parallelism and its
// tests.
std::vector<std::unique_ptr<Communicator>> MakeCpuCommunicators(int n);

#ifdef TRIAD_HAVE_NCCL
// One NCCL communicator per CUDA device of this process (ncclCommInitAll); AllReduceSum takes
// device pointers and runs on each device's current CUDA stream, then synchronizes it.
Result<std::vector<std::unique_ptr<Communicator>>> MakeNcclCommunicators(
    const std::vector<int>& devices);
#endif

}  // namespace triad::trainer::internal

#endif  // TRIAD_TRAINER_INTERNAL_COMMUNICATOR_H_
