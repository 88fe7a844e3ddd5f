// Triad's side of the GPU check against transformers + peft (bench/gpu/check.sh, peer_check.py), on
// the shared fixtures (testdata/trainer/<name>: base/, adapter/, reference.safetensors).
//
//   fixture_check reference --fixture DIR --device cuda --precision bf16 --out FILE
//       The fixture's base model with its peft adapter: logits on the reference input_ids, the mean
//       token loss, and the loss's gradient for every LoRA tensor, written as F32 safetensors
//       ("logits", "loss", "grad.<peft name>").
//   fixture_check adapter --fixture DIR --device cuda --out DIR [--steps 5]
//       A new adapter (r 8, alpha 16, all seven projections) trained here for a few SGD steps on the
//       reference input_ids in float32, written in the peft layout (adapter_config.json,
//       adapter_model.safetensors), and Triad's logits with it on the input_ids and attention_mask
//       (DIR/triad_logits.safetensors), for peft to load and reproduce.
// Prints one JSON line. Runs on CPU too (check.sh --cpu-only proves it up to the first GPU call).
#include <ATen/ATen.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "trainer/internal/model.h"
#include "trainer/peft.h"
#include "trainer/safetensors.h"

namespace {

using namespace triad::trainer;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
  return static_cast<bool>(out);
}

int Fail(const std::string& what) {
  std::cerr << "fixture_check: " << what << "\n";
  return 1;
}

TensorToWrite F32(const std::string& name, const at::Tensor& t) {
  at::Tensor c = t.detach().to(at::kCPU, at::kFloat).contiguous();
  return {name, Dtype::kF32, c.sizes().vec(),
          std::string(static_cast<const char*>(c.data_ptr()), c.nbytes())};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Fail("usage: fixture_check reference|adapter --fixture DIR ...");
  const std::string mode = argv[1];
  std::string fixture, device = "cpu", precision = "fp32", out;
  int steps = 5;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--fixture") fixture = next();
    else if (a == "--device") device = next();
    else if (a == "--precision") precision = next();
    else if (a == "--out") out = next();
    else if (a == "--steps") steps = std::stoi(next());
    else return Fail("unknown argument " + a);
  }
  try {
    const std::string config_json = ReadFile(fixture + "/base/config.json");
    const std::string weights = ReadFile(fixture + "/base/model.safetensors");
    const std::string reference = ReadFile(fixture + "/reference.safetensors");
    auto config = ParseModelConfig(config_json);
    if (!config.ok()) return Fail(config.status().message());
    auto base = LoadCheckpoint({{"model.safetensors", weights}}, "");
    auto ref = LoadCheckpoint({{"reference.safetensors", reference}}, "");
    if (!base.ok() || !ref.ok()) return Fail("cannot parse the fixture's safetensors");
    internal::ModelOptions o;
    o.device = at::Device(device);
    o.compute_dtype = precision == "bf16" ? at::kBFloat16 : at::kFloat;
    auto model = internal::DecoderModel::Load(*config, *base, o);
    if (!model.ok()) return Fail(model.status().message());
    internal::DecoderModel& m = **model;
    at::Tensor ids = internal::ToTensor(ref->at("input_ids")).value();
    at::Tensor mask = internal::ToTensor(ref->at("attention_mask")).value();

    if (mode == "reference") {
      const std::string adapter = ReadFile(fixture + "/adapter/adapter_model.safetensors");
      auto lora = LoadCheckpoint({{"adapter_model.safetensors", adapter}}, "");
      auto settings = ParseAdapterConfig(ReadFile(fixture + "/adapter/adapter_config.json"));
      if (!lora.ok() || !settings.ok()) return Fail("cannot read the fixture's adapter");
      Status st = m.LoadLora(*settings, *lora);
      if (!st.ok()) return Fail(st.message());
      at::Tensor hidden = m.Hidden(ids, at::Tensor(), false);
      at::Tensor logits = m.Logits(hidden);
      auto [sum, n] = m.LossSum(hidden, ids);
      at::Tensor loss = sum / static_cast<double>(n);
      loss.backward();
      std::vector<TensorToWrite> w = {F32("logits", logits), F32("loss", loss)};
      for (const auto& [name, p] : m.LoraParameters()) w.push_back(F32("grad." + name, p.grad()));
      auto file = WriteSafetensors(w, {});
      if (!file.ok() || !WriteFile(out, *file)) return Fail("cannot write " + out);
      std::printf("{\"mode\":\"reference\",\"device\":\"%s\",\"precision\":\"%s\",\"loss\":%.6f}\n",
                  device.c_str(), precision.c_str(), loss.item<double>());
      return 0;
    }
    if (mode != "adapter") return Fail("unknown mode " + mode);
    LoraSettings settings;
    settings.rank = 8;
    settings.alpha = 16;
    settings.targets = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                        "down_proj"};
    Status st = m.InitLora(settings, 1);
    if (!st.ok()) return Fail(st.message());
    // Plain SGD on the reference batch: enough to move every B away from zero.
    double first = 0, last = 0;
    for (int s = 0; s < steps; ++s) {
      auto [sum, n] = m.LossSum(m.Hidden(ids, mask, true), ids);
      at::Tensor loss = sum / static_cast<double>(n);
      loss.backward();
      (s == 0 ? first : last) = loss.item<double>();
      at::NoGradGuard g;
      for (auto& [name, p] : m.LoraParameters()) {
        p.add_(p.grad(), -0.05);
        p.mutable_grad().zero_();
      }
    }
    at::NoGradGuard g;
    at::Tensor logits = m.Logits(m.Hidden(ids, mask, false));
    auto adapter = m.AdapterSafetensors();
    auto logits_file = WriteSafetensors({F32("logits", logits)}, {});
    if (!adapter.ok() || !logits_file.ok()) return Fail("cannot serialise the adapter");
    if (!WriteFile(out + "/adapter_model.safetensors", *adapter) ||
        !WriteFile(out + "/adapter_config.json", AdapterConfigJson(settings)) ||
        !WriteFile(out + "/triad_logits.safetensors", *logits_file)) {
      return Fail("cannot write into " + out);
    }
    std::printf("{\"mode\":\"adapter\",\"device\":\"%s\",\"steps\":%d,\"first_loss\":%.6f,"
                "\"last_loss\":%.6f}\n",
                device.c_str(), steps, first, last);
    return 0;
  } catch (const c10::Error& e) {
    return Fail(std::string("LibTorch: ") + e.what_without_backtrace());
  }
}
