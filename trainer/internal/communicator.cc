#include "trainer/internal/communicator.h"

#include <condition_variable>
#include <mutex>

namespace triad::trainer::internal {
namespace {

// A reusable rendezvous: every rank deposits its pointer; the last to arrive sums in rank order
// into a shared buffer; every rank copies the sum out; the generation counter lets the group be
// reused.
class CpuGroup {
 public:
  explicit CpuGroup(int n) : n_(n), ptrs_(n, nullptr) {}

  void Abort() {
    std::lock_guard<std::mutex> lock(mu_);
    aborted_ = true;
    cv_.notify_all();
  }

  Status AllReduce(int rank, float* data, size_t count) {
    std::unique_lock<std::mutex> lock(mu_);
    const Status aborted = Internal("all-reduce: another rank failed");
    // Wait until the previous round's readers are done.
    cv_.wait(lock, [&] { return readers_ == 0 || aborted_; });
    if (aborted_) return aborted;
    if (arrived_ == 0) {
      count_ = count;
    } else if (count != count_) {
      failed_ = true;
    }
    ptrs_[rank] = data;
    const uint64_t gen = generation_;
    if (++arrived_ == n_) {
      if (!failed_) {
        sum_.assign(count_, 0.0f);
        for (int r = 0; r < n_; ++r) {
          for (size_t i = 0; i < count_; ++i) sum_[i] += ptrs_[r][i];
        }
      }
      round_failed_ = failed_;
      failed_ = false;
      arrived_ = 0;
      readers_ = n_;
      ++generation_;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return generation_ != gen || aborted_; });
      if (generation_ == gen) return aborted;
    }
    bool bad = round_failed_;
    if (!bad) std::copy(sum_.begin(), sum_.end(), data);
    if (--readers_ == 0) {
      std::fill(sum_.begin(), sum_.end(), 0.0f);
      cv_.notify_all();
    }
    if (bad) return Internal("all-reduce: ranks passed different element counts");
    return Status::Ok();
  }

 private:
  const int n_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<float*> ptrs_;
  std::vector<float> sum_;
  size_t count_ = 0;
  int arrived_ = 0;
  int readers_ = 0;
  uint64_t generation_ = 0;
  bool failed_ = false;
  bool round_failed_ = false;
  bool aborted_ = false;
};

class CpuCommunicator : public Communicator {
 public:
  CpuCommunicator(std::shared_ptr<CpuGroup> group, int rank, int n)
      : group_(std::move(group)), rank_(rank), n_(n) {}
  int rank() const override { return rank_; }
  int world_size() const override { return n_; }
  Status AllReduceSum(float* data, size_t count) override {
    if (n_ == 1) return Status::Ok();
    return group_->AllReduce(rank_, data, count);
  }
  void Abort() override { group_->Abort(); }

 private:
  std::shared_ptr<CpuGroup> group_;
  int rank_, n_;
};

}  // namespace

std::vector<std::unique_ptr<Communicator>> MakeCpuCommunicators(int n) {
  auto group = std::make_shared<CpuGroup>(n);
  std::vector<std::unique_ptr<Communicator>> out;
  for (int r = 0; r < n; ++r) out.push_back(std::make_unique<CpuCommunicator>(group, r, n));
  return out;
}

}  // namespace triad::trainer::internal
