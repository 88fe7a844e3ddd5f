// Peak memory of a whole worker job in one process, as the worker runs it minus the network: the
// age-encrypted model bundle (a tar of config.json, tokenizer.json, model.safetensors) is decrypted
// from a file into a trainer::ConsumableBuffer, the tar is read in place, Train loads the model
// (consuming the plaintext) and trains a few steps, and the adapter is packed and sealed with age.
// Prints one JSON object: the model's bytes M, the process's peak RSS over the job, its RSS when the
// model was ready, and the peak of the training itself with the weights already loaded (VmHWM reset
// at that point), so that target = 1.3 M + activations can be checked.
//
//   worker_job_rss --bundle model.tar.age --identity key.txt --data data.jsonl [--steps 2]
//                  [--batch 1] [--seq 128] [--precision bf16] [--threads 2] [--no-consume]
//
// --no-consume loads from the same buffer without consuming it (the archive then stays alive beside
// the model, as it did before the trainer could consume it), for comparison.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "base/tar.h"
#include "crypto/age.h"
#include "crypto/age_keys.h"
#include "crypto/byte_stream.h"
#include "crypto/secret.h"
#include "nlohmann/json.hpp"
#include "bench/trainer_bench_util.h"
#include "trainer/trainer.h"

namespace {

using namespace triad;
using bench::ProcStatusBytes;
using bench::ResetPeakRss;

// Writes decrypted bytes straight into the consumable buffer.
class BufferSink : public crypto::ByteSink {
 public:
  explicit BufferSink(trainer::ConsumableBuffer& buf) : buf_(buf) {}
  absl::Status Write(absl::string_view data) override {
    if (data.size() > buf_.size() - used_) return absl::InternalError("plaintext larger than expected");
    std::memcpy(buf_.data() + used_, data.data(), data.size());
    used_ += data.size();
    return absl::OkStatus();
  }
  size_t used() const { return used_; }

 private:
  trainer::ConsumableBuffer& buf_;
  size_t used_ = 0;
};

int Fail(const std::string& what) {
  std::cerr << "worker_job_rss: " << what << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string bundle, identity_path, data_path, precision = "bf16";
  int64_t steps = 2, batch = 1, seq = 128;
  int threads = 2;
  bool consume = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--bundle") bundle = next();
    else if (a == "--identity") identity_path = next();
    else if (a == "--data") data_path = next();
    else if (a == "--precision") precision = next();
    else if (a == "--steps") steps = std::stoll(next());
    else if (a == "--batch") batch = std::stoll(next());
    else if (a == "--seq") seq = std::stoll(next());
    else if (a == "--threads") threads = std::stoi(next());
    else if (a == "--no-consume") consume = false;
    else return Fail("unknown argument " + a);
  }
  const uint64_t rss_start = ProcStatusBytes("VmRSS:");

  // Decrypt, streaming from the file into the buffer (the worker holds the downloaded ciphertext
  // in memory instead; see docs/trainer.md).
  auto key = crypto::ReadSecretFile(identity_path, 1 << 16);
  if (!key.ok()) return Fail(std::string(key.status().message()));
  // An age-keygen file: comment lines, then the AGE-SECRET-KEY-1... line.
  absl::string_view text = key->view();
  size_t at = text.find("AGE-SECRET-KEY-");
  if (at == absl::string_view::npos) return Fail(identity_path + ": no AGE-SECRET-KEY line");
  text = text.substr(at, text.find('\n', at) - at);
  auto identity = crypto::age::X25519Identity::Parse(crypto::SecretBytes::CopyFrom(text));
  if (!identity.ok()) return Fail(std::string(identity.status().message()));
  int fd = ::open(bundle.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Fail("cannot open " + bundle);
  crypto::FdSource source(fd, bundle);
  const uint64_t cipher_size = source.Size().value_or(0);
  auto buf = trainer::ConsumableBuffer::Allocate(cipher_size);  // plaintext is smaller
  if (!buf.ok()) return Fail(buf.status().message());
  BufferSink sink(**buf);
  auto t0 = std::chrono::steady_clock::now();
  crypto::age::DecryptOptions dopts;
  dopts.threads = threads;
  absl::Status st = crypto::age::Decrypt({&*identity, 1}, source, sink, dopts);
  ::close(fd);
  if (!st.ok()) return Fail(std::string(st.message()));
  const double decrypt_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const uint64_t rss_decrypted = ProcStatusBytes("VmRSS:");

  // The bundle's files, in place.
  trainer::ModelFiles files;
  uint64_t model_bytes = 0;
  {
    auto reader = base::TarReader::Open(absl::string_view((*buf)->data(), sink.used()));
    if (!reader.ok()) return Fail(std::string(reader.status().message()));
    while (true) {
      auto member = (*reader)->Next();
      if (!member.ok()) return Fail(std::string(member.status().message()));
      if (!member->has_value()) break;
      auto view = (*reader)->View();
      if (!view.ok()) return Fail(std::string(view.status().message()));
      std::string_view v(view->data(), view->size());
      const std::string& name = (*member)->path;
      if (name == "config.json") files.config_json = v;
      else if (name == "tokenizer.json") files.tokenizer_json = v;
      else if (name.size() > 12 && name.compare(name.size() - 12, 12, ".safetensors") == 0) {
        files.safetensors.push_back({name, v});
        model_bytes += v.size();
      }
    }
  }
  if (consume) files.consumable = buf->get();
  std::ifstream din(data_path, std::ios::binary);
  std::stringstream ds;
  ds << din.rdbuf();
  std::string data = ds.str();

  trainer::TrainingConfig c;
  c.rank = 16;
  c.alpha = 32;
  c.target_modules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  c.max_steps = steps;
  c.batch_size = batch;
  c.sequence_length = seq;
  c.packing = true;
  trainer::TrainOptions o;
  o.precision = precision;
  o.threads = threads;
  uint64_t peak_until_loaded = 0, rss_loaded = 0;
  double load_s = 0;
  o.on_model_loaded = [&](double s) {
    load_s = s;
    peak_until_loaded = ProcStatusBytes("VmHWM:");
    rss_loaded = ProcStatusBytes("VmRSS:");
    ResetPeakRss();
  };
  auto r = trainer::Train(files, data, c, o);
  if (!r.ok()) return Fail(r.status().message());
  const uint64_t peak_training = ProcStatusBytes("VmHWM:");
  const trainer::TrainReport report = r->report;  // Wipe(*r) below empties it
  buf->reset();  // the worker wipes its inputs once training is done

  // Seal: pack the adapter and encrypt it to a recipient.
  ResetPeakRss();
  std::string tar;
  {
    auto w = base::TarWriter::Create([&](absl::string_view b) {
      tar.append(b.data(), b.size());
      return absl::OkStatus();
    });
    if (!w.ok()) return Fail(std::string(w.status().message()));
    for (const trainer::OutputFile& f : r->adapter) {
      st = (*w)->AddFile(f.name, f.data);
      if (!st.ok()) return Fail(std::string(st.message()));
    }
    st = (*w)->Finish();
    if (!st.ok()) return Fail(std::string(st.message()));
  }
  crypto::age::X25519Recipient recipient = identity->recipient();
  auto sealed = crypto::age::Encrypt({&recipient, 1}, tar, {});
  if (!sealed.ok()) return Fail(std::string(sealed.status().message()));
  trainer::Wipe(tar);
  trainer::Wipe(*r);
  const uint64_t peak_seal = ProcStatusBytes("VmHWM:");

  const uint64_t peak_job = std::max({peak_until_loaded, peak_training, peak_seal});
  const double activations = static_cast<double>(peak_training) - static_cast<double>(rss_loaded);
  const double target = 1.3 * static_cast<double>(model_bytes) + activations;
  const double mib = 1024.0 * 1024.0;
  nlohmann::ordered_json out = {
      {"implementation", "triad"},
      {"consume", consume},
      {"precision", precision},
      {"threads", threads},
      {"steps", steps},
      {"batch", batch},
      {"seq", seq},
      {"model_bytes", model_bytes},
      {"ciphertext_bytes", cipher_size},
      {"decrypt_seconds", decrypt_s},
      {"load_seconds", load_s},
      {"train_seconds", report.wall_seconds},
      {"rss_start_mib", rss_start / mib},
      {"rss_decrypted_mib", rss_decrypted / mib},
      {"peak_until_model_ready_mib", peak_until_loaded / mib},
      {"rss_model_ready_mib", rss_loaded / mib},
      {"peak_training_mib", peak_training / mib},
      {"activations_mib", activations / mib},
      {"peak_seal_mib", peak_seal / mib},
      {"peak_job_mib", peak_job / mib},
      {"target_mib", target / mib},
      {"peak_over_model", static_cast<double>(peak_job) / static_cast<double>(model_bytes)},
      {"met", static_cast<double>(peak_job) <= target},
      {"first_loss", report.losses.front()},
      {"last_loss", report.losses.back()}};
  std::cout << out.dump() << "\n";
  return 0;
}
