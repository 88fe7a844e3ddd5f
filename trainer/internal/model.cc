#include "trainer/internal/model.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/version.h>
#include <c10/core/Event.h>
#include <c10/core/impl/VirtualGuardImpl.h>

#include <sys/mman.h>

#include <ATen/Parallel.h>

#include <cmath>
#include <cstring>
#include <set>
#include <thread>

namespace triad::trainer::internal {
namespace {

constexpr const char* kProjections[] = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                        "gate_proj", "up_proj", "down_proj"};

// transformers' rope_init_fn for "default" and "llama3", in float32 as it computes them.
at::Tensor InvFreq(const ModelConfig& c) {
  at::Tensor exponent =
      at::arange(0, c.head_dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(c.head_dim);
  at::Tensor inv_freq = at::pow(at::Scalar(c.rope.theta), exponent).reciprocal();
  if (c.rope.type == "llama3") {
    const double factor = c.rope.factor, low = c.rope.low_freq_factor,
                 high = c.rope.high_freq_factor;
    const double old_len = static_cast<double>(c.rope.original_max_position_embeddings);
    const double low_freq_wavelen = old_len / low, high_freq_wavelen = old_len / high;
    at::Tensor wavelen = inv_freq.reciprocal() * (2 * M_PI);
    at::Tensor llama = at::where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq);
    at::Tensor smooth = (old_len / wavelen - low) / (high - low);
    at::Tensor smoothed = (1 - smooth) * llama / factor + smooth * llama;
    at::Tensor medium = (wavelen >= high_freq_wavelen).logical_and(wavelen <= low_freq_wavelen);
    inv_freq = at::where(medium, smoothed, llama);
  }
  return inv_freq;
}

// Activation checkpointing: the layer runs without saving activations in forward and is recomputed
// in backward. Arguments: x, the layer's LoRA weights, then constants.
struct CheckpointedLayer : public torch::autograd::Function<CheckpointedLayer> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const at::Tensor& x, at::TensorList params,
                                                const at::Tensor& cos, const at::Tensor& sin,
                                                const c10::optional<at::Tensor>& bias,
                                                const c10::optional<at::Tensor>& row_valid,
                                                int64_t layer, int64_t model) {
    std::vector<at::Tensor> saved = {x, cos, sin, bias.value_or(at::Tensor()),
                                     row_valid.value_or(at::Tensor())};
    for (const at::Tensor& p : params) saved.push_back(p);
    ctx->save_for_backward(saved);
    ctx->saved_data["layer"] = layer;
    ctx->saved_data["model"] = model;
    auto* m = reinterpret_cast<DecoderModel*>(model);
    return {m->LayerForward(layer, x, cos, sin, bias.value_or(at::Tensor()),
                            row_valid.value_or(at::Tensor()), true)};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    auto saved = ctx->get_saved_variables();
    auto* m = reinterpret_cast<DecoderModel*>(ctx->saved_data["model"].toInt());
    int64_t layer = ctx->saved_data["layer"].toInt();
    at::AutoGradMode enable(true);
    at::Tensor x = saved[0].detach().requires_grad_(true);
    std::vector<at::Tensor> inputs = {x};
    for (size_t i = 5; i < saved.size(); ++i) inputs.push_back(saved[i]);
    at::Tensor out = m->LayerForward(layer, x, saved[1], saved[2], saved[3], saved[4], true);
    auto grads = torch::autograd::grad({out}, inputs, {grad_out[0]}, /*retain_graph=*/false,
                                       /*create_graph=*/false, /*allow_unused=*/true);
    torch::autograd::variable_list result;
    for (auto& g : grads) result.push_back(g);
    for (int i = 0; i < 6; ++i)
      result.push_back(at::Tensor());  // cos, sin, bias, row_valid, layer, model
    return result;
  }
};

// A frozen linear layer whose output rows are one or more projections (q/k/v, gate/up, or one),
// with the LoRA terms of those that have adapters, as one autograd node with one output per
// projection:
//   y = x W^T + b,  y_i = y[:, rows_i] (+ s_i (x A_i^T) B_i^T when projection i has an adapter)
// Forward runs one matmul for the base, one for all the A_i (x is read once), and adds each B_i term
// into its rows of y in place; the outputs are y's column blocks. Backward takes each output's
// gradient where it is (no concatenation), computes the input gradient as sum_i g_i W_i + gxa A and
// the adapters' gradients directly: no [N, out] scaled copy, no zero-filled slice gradient, no
// separate gradient sum. Used without LoRA dropout (each projection would need its own mask of x).
// Matmuls run in x's dtype; the adapters' float32 masters are cast to it and their gradients
// returned in float32, as under autocast.
struct FusedLora : public torch::autograd::Function<FusedLora> {
  // params: A, B of each projection that has an adapter, in order; `parts_ptr` points to the
  // layout (a vector that outlives the graph, passed as an integer as CheckpointedLayer passes its
  // model).
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const at::Tensor& x, const at::Tensor& weight,
                                                const c10::optional<at::Tensor>& bias,
                                                at::TensorList params, int64_t parts_ptr) {
    const auto& parts = *reinterpret_cast<const std::vector<FusedLoraPart>*>(parts_ptr);
    const at::ScalarType dt = x.scalar_type();
    at::Tensor x2 = x.reshape({-1, x.size(-1)});
    at::Tensor y = bias ? at::addmm(*bias, x2, weight.t()) : at::mm(x2, weight.t());
    std::vector<at::Tensor> as, bs;
    for (size_t j = 0; j < params.size(); j += 2) {
      as.push_back(params[j].to(dt));
      bs.push_back(params[j + 1].to(dt));
    }
    at::Tensor a = as.size() == 1 ? as[0] : at::cat(as, 0);  // [R, in]
    at::Tensor xa = at::mm(x2, a.t());                         // [N, R]
    const int64_t r = as[0].size(0);
    int64_t j = 0;
    std::vector<int64_t> sizes;
    for (const FusedLoraPart& part : parts) {
      sizes.push_back(part.rows);
      if (!part.lora) continue;
      y.narrow(1, part.row, part.rows).addmm_(xa.narrow(1, r * j, r), bs[j].t(), 1.0, part.scaling);
      ++j;
    }
    std::vector<at::Tensor> saved = {x2, weight, xa, a};
    saved.insert(saved.end(), bs.begin(), bs.end());
    ctx->save_for_backward(saved);
    ctx->saved_data["parts"] = parts_ptr;
    std::vector<int64_t> lead = x.sizes().vec();
    lead.pop_back();
    torch::autograd::variable_list out;
    for (const at::Tensor& block : y.split_with_sizes(sizes, 1)) {
      std::vector<int64_t> shape = lead;
      shape.push_back(block.size(1));
      out.push_back(block.view(shape));
    }
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    const auto& parts =
        *reinterpret_cast<const std::vector<FusedLoraPart>*>(ctx->saved_data["parts"].toInt());
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x2 = saved[0], &weight = saved[1], &xa = saved[2], &a = saved[3];
    const int64_t lora_parts = static_cast<int64_t>(saved.size()) - 4, r = xa.size(1) / lora_parts;
    // Inputs, in order: x, weight, bias, A_0, B_0, ..., parts_ptr.
    torch::autograd::variable_list grads(4 + 2 * lora_parts);
    std::vector<at::Tensor> g(parts.size());
    for (size_t i = 0; i < parts.size(); ++i) {
      g[i] = grad_out[i].reshape({-1, parts[i].rows});
      if (g[i].scalar_type() != x2.scalar_type()) g[i] = g[i].to(x2.scalar_type());
    }
    at::Tensor gxa = at::empty_like(xa);  // d loss / d (x A^T)
    int64_t j = 0;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (!parts[i].lora) continue;
      at::Tensor gxa_j = gxa.narrow(1, r * j, r), xa_j = xa.narrow(1, r * j, r);
      // The scaling as the matmuls' alpha (beta 0: the uninitialised output is not read).
      at::addmm_out(gxa_j, gxa_j, g[i], saved[4 + j], /*beta=*/0, parts[i].scaling);
      at::Tensor gb = at::empty({parts[i].rows, r}, xa.options());
      at::addmm_out(gb, gb, g[i].t(), xa_j, /*beta=*/0, parts[i].scaling);
      grads[3 + 2 * j + 1] = gb.to(at::kFloat);
      ++j;
    }
    at::Tensor ga = at::mm(gxa.t(), x2).to(at::kFloat);  // [R, in]
    for (int64_t k = 0; k < lora_parts; ++k) grads[3 + 2 * k] = ga.narrow(0, r * k, r);
    // The input's gradient, the largest matmuls, only when something before needs it (not in the
    // first layer, whose input comes from the frozen embedding).
    if (ctx->needs_input_grad(0)) {
      at::Tensor gx = at::mm(gxa, a);
      for (size_t i = 0; i < parts.size(); ++i) {
        gx.addmm_(g[i], weight.narrow(0, parts[i].row, parts[i].rows));
      }
      std::vector<int64_t> shape = grad_out[0].sizes().vec();
      shape.back() = weight.size(1);
      grads[0] = gx.view(shape);
    }
    return grads;
  }
};

// Causal attention without a mask tensor, as one autograd node. q [B, H, S, D] (already scaled by
// 1/sqrt(D)), k and v [B, KV, S, D]. The query heads that share a key head become more rows of one
// matmul (k and v are never repeated), and the queries go in blocks that see only the keys up to
// their block's end, so most of the masked upper triangle is never computed (4 blocks: 5/8 of the
// work); each row's softmax covers the same keys as with the full mask (masked keys add exactly
// zero). The mask of a block enters as the initial value of its scores' matmul (beta 1: adding 0 or
// -inf, exact). Backward, per block: dP = dO V^T, dS = softmax'(dP), dQ = dS K, and dK, dV
// accumulated by the matmuls themselves into the rows the block saw: no zero-padded slice gradient,
// no copy of the scores for an in-place mask, no sum of per-block gradients. Saves q's blocks, k, v
// and the float32 probabilities (what autograd saved for the composed form, less its copies).
struct CausalAttention : public torch::autograd::Function<CausalAttention> {
  static int64_t BlockRows(int64_t s) {
    const int64_t blocks = s >= 256 ? 4 : s >= 128 ? 2 : 1;
    return (s + blocks - 1) / blocks;
  }
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& q,
                            const at::Tensor& k, const at::Tensor& v) {
    const int64_t b = q.size(0), nh = q.size(1), s = q.size(2), hd = q.size(3), nkv = k.size(1),
                  g = nh / nkv, bs = BlockRows(s);
    const at::ScalarType dt = q.scalar_type();
    at::Tensor q5 = q.reshape({b, nkv, g, s, hd});
    at::Tensor k3 = k.reshape({b * nkv, s, hd}), v3 = v.reshape({b * nkv, s, hd});
    at::Tensor out = at::empty({b, nkv, g, s, hd}, q.options());
    std::vector<at::Tensor> saved = {k3, v3};
    for (int64_t s0 = 0; s0 < s; s0 += bs) {
      const int64_t len = std::min(bs, s - s0), end = s0 + len;
      at::Tensor qb = q5.narrow(3, s0, len).reshape({b * nkv, g * len, hd});
      // Query s0 + i sees key j when j <= s0 + i; the g heads of a group are g row blocks.
      at::Tensor mask = at::full({len, end}, -std::numeric_limits<float>::infinity(), q.options())
                            .triu(s0 + 1)
                            .repeat({g, 1});
      at::Tensor scores = at::baddbmm(mask, qb, k3.narrow(1, 0, end).transpose(1, 2));
      at::Tensor p = at::softmax(scores, -1, at::kFloat);  // [B * KV, g * len, end]
      at::Tensor o = at::bmm(p.to(dt), v3.narrow(1, 0, end));
      out.narrow(3, s0, len).copy_(o.view({b, nkv, g, len, hd}));
      saved.push_back(qb);
      saved.push_back(p);
    }
    ctx->save_for_backward(saved);
    return out.view({b, nh, s, hd});
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &k3 = saved[0], &v3 = saved[1];
    const at::Tensor& dout = grad_out[0];
    const int64_t b = dout.size(0), nh = dout.size(1), s = dout.size(2), hd = dout.size(3),
                  nkv = k3.size(0) / b, g = nh / nkv, bs = BlockRows(s);
    const at::ScalarType dt = k3.scalar_type();
    at::Tensor d5 = dout.to(dt).reshape({b, nkv, g, s, hd});
    at::Tensor dq = at::empty({b, nkv, g, s, hd}, k3.options());
    at::Tensor dk = at::empty({b * nkv, s, hd}, k3.options()), dv = at::empty_like(dk);
    // The last block sees every key: it writes dK and dV whole, the earlier ones add to their rows.
    const int64_t last = (s - 1) / bs;
    for (int64_t i = last; i >= 0; --i) {
      const int64_t s0 = i * bs, len = std::min(bs, s - s0), end = s0 + len;
      const at::Tensor &qb = saved[2 + 2 * i], &p = saved[3 + 2 * i];
      at::Tensor dob = d5.narrow(3, s0, len).reshape({b * nkv, g * len, hd});
      at::Tensor kb = k3.narrow(1, 0, end), vb = v3.narrow(1, 0, end);
      at::Tensor dp = at::bmm(dob, vb.transpose(1, 2)).to(at::kFloat);
      // d loss / d scores, in the compute dtype (LibTorch 1.13 returns float32 here for bf16).
      at::Tensor ds = at::_softmax_backward_data(dp, p, -1, dt).to(dt);
      dq.narrow(3, s0, len).copy_(at::bmm(ds, kb).view({b, nkv, g, len, hd}));
      at::Tensor dkb = dk.narrow(1, 0, end), dvb = dv.narrow(1, 0, end);
      const double beta = i == last ? 0.0 : 1.0;
      at::Tensor pt = p.to(dt).transpose(1, 2);
      dkb.baddbmm_(ds.transpose(1, 2), qb, beta);
      dvb.baddbmm_(pt, dob, beta);
    }
    return {dq.view({b, nh, s, hd}), dk.view({b, nkv, s, hd}), dv.view({b, nkv, s, hd})};
  }
};

// RoPE as one autograd node: x cos + rotate_half(x) sin, with cos and sin [S, D] whose two halves
// are equal (transformers builds them as cat(freqs, freqs)), written half by half:
//   out1 = x1 c - x2 s,  out2 = x2 c + x1 s;  backward: dx1 = g1 c + g2 s,  dx2 = g2 c - g1 s.
// Two passes each way, where the composed form makes a negation, a concatenation and three
// products forward, and as many backward.
struct Rope : public torch::autograd::Function<Rope> {
  static at::Tensor Rotate(const at::Tensor& x, const at::Tensor& c, const at::Tensor& s,
                           double sign) {
    const int64_t h = x.size(-1) / 2;
    at::Tensor out = at::empty(x.sizes(), x.options());
    at::Tensor x1 = x.narrow(-1, 0, h), x2 = x.narrow(-1, h, h);
    at::Tensor o1 = out.narrow(-1, 0, h), o2 = out.narrow(-1, h, h);
    at::mul_out(o1, x1, c).addcmul_(x2, s, -sign);
    at::mul_out(o2, x2, c).addcmul_(x1, s, sign);
    return out;
  }
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                            const at::Tensor& cos, const at::Tensor& sin) {
    const int64_t h = x.size(-1) / 2;
    at::Tensor c = cos.narrow(-1, 0, h), s = sin.narrow(-1, 0, h);
    ctx->save_for_backward({c, s});
    return Rotate(x, c, s, 1.0);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    const auto saved = ctx->get_saved_variables();
    return {Rotate(grad_out[0], saved[0], saved[1], -1.0), at::Tensor(), at::Tensor()};
  }
};

// RMSNorm as one autograd node (transformers' Qwen2RMSNorm: float32 statistics, the weight applied
// in the input's dtype; the weight is frozen). With h = x in float32, r = rsqrt(mean(h^2) + eps),
// gw = g w: dx = r gw - h r^3 mean(gw h). Four passes backward where the composed form makes about
// ten.
struct RmsNormFn : public torch::autograd::Function<RmsNormFn> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                            const at::Tensor& w, double eps) {
    at::Tensor h = x.to(at::kFloat);
    at::Tensor r = (h.pow(2).mean(-1, /*keepdim=*/true) + eps).rsqrt_();
    ctx->save_for_backward({x, w, r});
    return w * (h * r).to(x.scalar_type());
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &w = saved[1], &r = saved[2];
    at::Tensor h = x.to(at::kFloat);
    at::Tensor gw = (grad_out[0] * w).to(at::kFloat);
    at::Tensor coef = (gw * h).mean(-1, /*keepdim=*/true).mul_(r).mul_(r).mul_(r).neg_();
    at::Tensor dx = gw.mul_(r).addcmul_(h, coef);
    return {dx.to(x.scalar_type()), at::Tensor(), at::Tensor()};
  }
};

void ZeroTensor(at::Tensor& t) {
  if (!t.defined()) return;
  at::NoGradGuard no_grad;
  if (t.grad().defined()) t.mutable_grad().zero_();
  t.zero_();
}

}  // namespace

Result<at::Tensor> ToTensor(const TensorView& view) {
  at::ScalarType type;
  switch (view.dtype) {
    case Dtype::kF32:
      type = at::kFloat;
      break;
    case Dtype::kF16:
      type = at::kHalf;
      break;
    case Dtype::kBF16:
      type = at::kBFloat16;
      break;
    case Dtype::kI64:
      type = at::kLong;
      break;
    case Dtype::kI32:
      type = at::kInt;
      break;
    default:
      return InvalidArgument("tensor \"" + view.name + "\" has dtype " + DtypeName(view.dtype) +
                             "; weights must be F32, F16 or BF16");
  }
  at::Tensor t = at::empty(view.shape, at::TensorOptions().dtype(type));
  if (!view.data.empty()) std::memcpy(t.data_ptr(), view.data.data(), view.data.size());
  return t;
}

namespace {

// Where a checkpoint tensor lands: rows [row, row + rows) of a model tensor of shape `full`, which is
// allocated when its first part arrives (q/k/v and gate/up share one fused tensor each).
struct Slot {
  at::Tensor* dest;
  std::vector<int64_t> full;
  int64_t row = 0;
};

// Checkpoint bytes copied per step while loading: what loading holds twice at most.
constexpr size_t kLoadChunkBytes = 16 << 20;
// Weights at least this large get memory of their own (NewWeight).
constexpr size_t kMappedWeightBytes = 1 << 20;

// A frozen weight of the model. On CPU, large ones live in an anonymous mapping of their own,
// excluded from core dumps (the weights are the model owner's secret) and wiped before unmapping.
// Not MADV_HUGEPAGE: with the usual defrag=madvise the kernel compacts memory on each fault, which
// made loading 4x slower on the development VM.
at::Tensor NewWeight(const std::vector<int64_t>& shape, const at::TensorOptions& options) {
  int64_t numel = 1;
  for (int64_t d : shape) numel *= d;
  const size_t bytes = static_cast<size_t>(numel) * c10::elementSize(
                                                        c10::typeMetaToScalarType(options.dtype()));
  if (!options.device().is_cpu() || bytes < kMappedWeightBytes) return at::empty(shape, options);
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return at::empty(shape, options);
  ::madvise(p, bytes, MADV_DONTDUMP);
  return at::from_blob(
      p, shape,
      [bytes](void* q) {
        std::memset(q, 0, bytes);
        __asm__ __volatile__("" : : "r"(q) : "memory");
        ::munmap(q, bytes);
      },
      options);
}

// dst (contiguous, CPU, float32 or bfloat16) <- the little-endian elements of `src` (F32, F16 or
// BF16, any alignment). Conversions run on the intra-op threads and are exact (to float32) or round
// to nearest even (to bfloat16), as torch's are.
void ConvertInto(std::string_view src, Dtype from, const at::Tensor& dst) {
  const int64_t n = dst.numel();
  const char* in = src.data();
  const bool to_bf16 = dst.scalar_type() == at::kBFloat16;
  char* out = static_cast<char*>(dst.data_ptr());
  if ((from == Dtype::kBF16 && to_bf16) || (from == Dtype::kF32 && !to_bf16)) {
    // One thread: the copy is bound by memory and page faults, and a second thread that another
    // process has descheduled made it slower (and far more variable) on a loaded machine.
    std::memcpy(out, in, src.size());
    return;
  }
  auto to_float = [from](const char* p, int64_t i) -> float {
    if (from == Dtype::kF32) {
      float f;
      std::memcpy(&f, p + 4 * i, 4);
      return f;
    }
    uint16_t h;
    std::memcpy(&h, p + 2 * i, 2);
    return from == Dtype::kBF16 ? Bf16ToFloat(h) : F16ToFloat(h);
  };
  at::parallel_for(0, n, 1 << 16, [&](int64_t b, int64_t e) {
    if (to_bf16) {
      uint16_t* o = reinterpret_cast<uint16_t*>(out);
      for (int64_t i = b; i < e; ++i) o[i] = FloatToBf16(to_float(in, i));
    } else if (from == Dtype::kBF16) {  // the common case: a shift, which the compiler vectorises
      float* o = reinterpret_cast<float*>(out);
      for (int64_t i = b; i < e; ++i) {
        uint16_t h;
        std::memcpy(&h, in + 2 * i, 2);
        const uint32_t bits = static_cast<uint32_t>(h) << 16;
        std::memcpy(&o[i], &bits, 4);
      }
    } else {
      float* o = reinterpret_cast<float*>(out);
      for (int64_t i = b; i < e; ++i) o[i] = to_float(in, i);
    }
  });
}

// Copies host bytes into device tensors through two pinned staging buffers, so that the copy of one
// chunk to the GPU overlaps the host copy of the next; on CPU a plain (parallel, vectorised) copy_.
class Uploader {
 public:
  explicit Uploader(const at::Device& device) : device_(device) {}
  ~Uploader() { Drain(); }

  // dst (contiguous, on the device) <- src (contiguous, CPU); converts the dtype when they differ.
  void Copy(const at::Tensor& src, at::Tensor dst) {
    if (device_.is_cpu()) {
      dst.copy_(src);
      return;
    }
    // Rows of at most kStaging bytes, through alternating pinned buffers.
    const int64_t rows = src.dim() == 0 ? 1 : src.size(0);
    const int64_t row_bytes = rows == 0 ? 0 : static_cast<int64_t>(src.nbytes()) / rows;
    if (row_bytes == 0) return;
    const int64_t per = std::max<int64_t>(1, kStaging / row_bytes);
    at::Tensor s2 = src.reshape({rows, -1}), d2 = dst.reshape({rows, -1});
    for (int64_t r = 0; r < rows; r += per) {
      const int64_t n = std::min(per, rows - r);
      Stage& slot = stages_[next_];
      next_ ^= 1;
      Wait(slot);
      if (!slot.pinned.defined()) {
        slot.pinned = at::empty({kStaging}, at::TensorOptions().dtype(at::kByte).pinned_memory(true));
      }
      at::Tensor stage = slot.pinned.narrow(0, 0, n * row_bytes).view(src.scalar_type()).view(
          {n, s2.size(1)});
      stage.copy_(s2.narrow(0, r, n));  // host to pinned host: synchronous
      at::Tensor target = d2.narrow(0, r, n);
      if (target.scalar_type() == src.scalar_type()) {
        target.copy_(stage, /*non_blocking=*/true);
      } else {
        at::Tensor tmp = at::empty({n, s2.size(1)}, target.options().dtype(src.scalar_type()));
        tmp.copy_(stage, /*non_blocking=*/true);
        target.copy_(tmp);
      }
      slot.event.emplace(device_.type());
      slot.event->record(c10::impl::VirtualGuardImpl(device_.type()).getStream(device_));
    }
  }

  // Waits for every copy in flight (the pinned buffers may then be freed).
  void Drain() {
    for (Stage& s : stages_) Wait(s);
  }

 private:
  static constexpr int64_t kStaging = 64 << 20;
  struct Stage {
    at::Tensor pinned;
    c10::optional<c10::Event> event;
  };
  static void Wait(Stage& s) {
    if (!s.event) return;
    while (!s.event->query()) std::this_thread::yield();
    s.event.reset();
  }
  at::Device device_;
  Stage stages_[2];
  int next_ = 0;
};

}  // namespace

Result<std::unique_ptr<DecoderModel>> DecoderModel::Load(
    const ModelConfig& config, const std::map<std::string, TensorView>& tensors,
    const ModelOptions& options, ConsumableBuffer* consume) {
  // Every check first, so that a bad checkpoint is refused before anything is allocated.
  TRAINER_RETURN_IF_ERROR(CheckCheckpoint(config, tensors));
  const std::vector<ExpectedTensor> expected = ExpectedTensors(config);

  // Where each tensor goes. q/k/v and gate/up are fused (one matmul each): their rows are written
  // straight into the fused tensor, so no separate copy ever exists.
  std::unique_ptr<DecoderModel> m(new DecoderModel(config, options));
  const int64_t h = config.hidden_size, nq = config.num_heads * config.head_dim,
                nk = config.num_kv_heads * config.head_dim, inter = config.intermediate_size;
  m->layers_.resize(config.num_layers);
  std::map<std::string, Slot> slots;
  slots["model.embed_tokens.weight"] = {&m->embed_, {config.vocab_size, h}};
  slots["model.norm.weight"] = {&m->final_norm_, {h}};
  if (!config.tie_word_embeddings) slots["lm_head.weight"] = {&m->lm_head_, {config.vocab_size, h}};
  for (int64_t l = 0; l < config.num_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    Layer& L = m->layers_[l];
    slots[p + "input_layernorm.weight"] = {&L.input_norm, {h}};
    slots[p + "post_attention_layernorm.weight"] = {&L.post_norm, {h}};
    slots[p + "self_attn.q_norm.weight"] = {&L.q_norm, {config.head_dim}};
    slots[p + "self_attn.k_norm.weight"] = {&L.k_norm, {config.head_dim}};
    const int64_t qkv = nq + 2 * nk;
    slots[p + "self_attn.q_proj.weight"] = {&L.qkv_weight, {qkv, h}, 0};
    slots[p + "self_attn.k_proj.weight"] = {&L.qkv_weight, {qkv, h}, nq};
    slots[p + "self_attn.v_proj.weight"] = {&L.qkv_weight, {qkv, h}, nq + nk};
    slots[p + "self_attn.q_proj.bias"] = {&L.qkv_bias, {qkv}, 0};
    slots[p + "self_attn.k_proj.bias"] = {&L.qkv_bias, {qkv}, nq};
    slots[p + "self_attn.v_proj.bias"] = {&L.qkv_bias, {qkv}, nq + nk};
    slots[p + "self_attn.o_proj.weight"] = {&L.o.weight, {h, nq}};
    slots[p + "self_attn.o_proj.bias"] = {&L.o.bias, {h}};
    slots[p + "mlp.gate_proj.weight"] = {&L.gate_up_weight, {2 * inter, h}, 0};
    slots[p + "mlp.up_proj.weight"] = {&L.gate_up_weight, {2 * inter, h}, inter};
    slots[p + "mlp.gate_proj.bias"] = {&L.gate_up_bias, {2 * inter}, 0};
    slots[p + "mlp.up_proj.bias"] = {&L.gate_up_bias, {2 * inter}, inter};
    slots[p + "mlp.down_proj.weight"] = {&L.down.weight, {h, inter}};
    slots[p + "mlp.down_proj.bias"] = {&L.down.bias, {h}};
  }

  // In the order the bytes lie in memory, so that each buffer is consumed front to back.
  std::vector<std::pair<const TensorView*, Slot*>> order;
  for (const ExpectedTensor& e : expected) {
    auto s = slots.find(e.name);
    if (s == slots.end()) return Internal("checkpoint: no place for tensor \"" + e.name + "\"");
    order.emplace_back(&tensors.at(e.name), &s->second);
  }
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return std::less<const char*>()(a.first->data.data(), b.first->data.data());
  });
  const at::TensorOptions dest_options =
      at::TensorOptions().dtype(options.compute_dtype).device(options.device);
  Uploader uploader(options.device);
  for (const auto& [view, slot] : order) {
    const at::ScalarType type = view->dtype == Dtype::kBF16  ? at::kBFloat16
                                : view->dtype == Dtype::kF16 ? at::kHalf
                                                             : at::kFloat;
    if (!slot->dest->defined()) *slot->dest = NewWeight(slot->full, dest_options);
    const int64_t rows = view->shape[0];
    if (rows == 0 || view->data.empty()) continue;
    const size_t row_bytes = view->data.size() / static_cast<size_t>(rows);
    // Large tensors go in chunks of rows, each consumed once copied, so that loading holds at most
    // one chunk twice (not the whole embedding).
    const int64_t chunk = std::max<int64_t>(1, static_cast<int64_t>(kLoadChunkBytes / row_bytes));
    for (int64_t r = 0; r < rows; r += chunk) {
      const int64_t n = std::min(chunk, rows - r);
      std::string_view part = view->data.substr(r * row_bytes, n * row_bytes);
      at::Tensor dst = slot->dest->narrow(0, slot->row + r, n);
      if (options.device.is_cpu()) {
        ConvertInto(part, view->dtype, dst);
      } else {
        std::vector<int64_t> shape = view->shape;
        shape[0] = n;
        if (reinterpret_cast<uintptr_t>(part.data()) % DtypeSize(view->dtype) == 0) {
          // A view of the plaintext itself: read once, never written.
          uploader.Copy(at::from_blob(const_cast<char*>(part.data()), shape,
                                      at::TensorOptions().dtype(type)),
                        dst);
        } else {  // safetensors promises no alignment: stage through an aligned copy
          at::Tensor src = at::empty(shape, at::TensorOptions().dtype(type));
          std::memcpy(src.data_ptr(), part.data(), part.size());
          uploader.Copy(src, dst);
          ZeroTensor(src);
        }
      }
      if (consume) consume->Consume(part);
    }
  }
  uploader.Drain();

  if (config.tie_word_embeddings) m->lm_head_ = m->embed_;
  for (Layer& L : m->layers_) {
    auto rows = [](at::Tensor& fused, int64_t row, int64_t n) {
      return fused.defined() ? fused.narrow(0, row, n) : at::Tensor();
    };
    L.q.weight = rows(L.qkv_weight, 0, nq);
    L.k.weight = rows(L.qkv_weight, nq, nk);
    L.v.weight = rows(L.qkv_weight, nq + nk, nk);
    L.q.bias = rows(L.qkv_bias, 0, nq);
    L.k.bias = rows(L.qkv_bias, nq, nk);
    L.v.bias = rows(L.qkv_bias, nq + nk, nk);
    L.gate.weight = rows(L.gate_up_weight, 0, inter);
    L.up.weight = rows(L.gate_up_weight, inter, inter);
    L.gate.bias = rows(L.gate_up_bias, 0, inter);
    L.up.bias = rows(L.gate_up_bias, inter, inter);
  }
  m->inv_freq_ = InvFreq(config).to(options.device);
  return m;
}

DecoderModel::~DecoderModel() { Wipe(); }

std::vector<std::pair<std::string, Linear*>> DecoderModel::Projections() {
  std::vector<std::pair<std::string, Linear*>> out;
  for (Layer& l : layers_) {
    Linear* ps[] = {&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down};
    for (int i = 0; i < 7; ++i) out.emplace_back(kProjections[i], ps[i]);
  }
  return out;
}

std::vector<std::pair<std::string, const Linear*>> DecoderModel::Projections() const {
  std::vector<std::pair<std::string, const Linear*>> out;
  for (const Layer& l : layers_) {
    const Linear* ps[] = {&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down};
    for (int i = 0; i < 7; ++i) out.emplace_back(kProjections[i], ps[i]);
  }
  return out;
}

Status DecoderModel::InitLora(const LoraSettings& lora, uint64_t seed) {
  lora_ = lora;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::set<std::string> targets(lora.targets.begin(), lora.targets.end());
  for (auto& [name, l] : Projections()) {
    if (!targets.count(name)) continue;
    int64_t in = l->weight.size(1), out = l->weight.size(0);
    double bound = 1.0 / std::sqrt(static_cast<double>(in));
    at::Tensor a = at::empty({lora.rank, in}, at::kFloat);
    a.uniform_(-bound, bound, gen);
    l->lora_a = a.to(options_.device).set_requires_grad(true);
    l->lora_b =
        at::zeros({out, lora.rank}, at::TensorOptions().dtype(at::kFloat).device(options_.device))
            .set_requires_grad(true);
    l->scaling = lora.Scaling();
    l->dropout = lora.dropout;
  }
  return Status::Ok();
}

Status DecoderModel::LoadLora(const LoraSettings& lora,
                              const std::map<std::string, TensorView>& adapter) {
  lora_ = lora;
  std::set<std::string> targets(lora.targets.begin(), lora.targets.end());
  std::set<std::string> used;
  int64_t layer = 0, i = 0;
  for (auto& [name, l] : Projections()) {
    int64_t li = layer;
    if (++i % 7 == 0) ++layer;
    if (!targets.count(name)) continue;
    for (bool is_a : {true, false}) {
      std::string key = PeftTensorName(li, name, is_a);
      auto it = adapter.find(key);
      if (it == adapter.end()) return InvalidArgument("adapter: missing tensor \"" + key + "\"");
      std::vector<int64_t> want = is_a ? std::vector<int64_t>{lora.rank, l->weight.size(1)}
                                       : std::vector<int64_t>{l->weight.size(0), lora.rank};
      if (it->second.shape != want)
        return InvalidArgument("adapter: tensor \"" + key + "\" has the wrong shape");
      if (it->second.dtype != Dtype::kF32 && it->second.dtype != Dtype::kF16 &&
          it->second.dtype != Dtype::kBF16) {
        return InvalidArgument("adapter: tensor \"" + key + "\" is not F32, F16 or BF16");
      }
      TRAINER_ASSIGN_OR_RETURN(at::Tensor t, ToTensor(it->second));
      at::Tensor p = t.to(options_.device, at::kFloat).contiguous().set_requires_grad(true);
      (is_a ? l->lora_a : l->lora_b) = p;
      used.insert(key);
    }
    l->scaling = lora.Scaling();
    l->dropout = lora.dropout;
  }
  for (const auto& [name, view] : adapter) {
    if (!used.count(name)) return InvalidArgument("adapter: unexpected tensor \"" + name + "\"");
  }
  return Status::Ok();
}

void DecoderModel::SeedDropout(uint64_t seed) {
  if (options_.device.is_cpu()) {
    dropout_gen_ = at::make_generator<at::CPUGeneratorImpl>(seed);
  } else {
    at::Generator g = at::globalContext().defaultGenerator(options_.device);
    std::lock_guard<std::mutex> lock(g.mutex());
    g.set_current_seed(seed);
    dropout_gen_ = g;
  }
}

at::Tensor DecoderModel::RmsNorm(const at::Tensor& x, const at::Tensor& w) const {
  return RmsNormFn::apply(x, w, config_.rms_norm_eps);
}


at::Tensor DecoderModel::AddLora(const Linear& l, const at::Tensor& x, const at::Tensor& y,
                                 bool train) {
  if (!l.lora_a.defined()) return y;
  at::Tensor in = x;
  if (train && l.dropout > 0) {
    at::Tensor keep = at::empty_like(x);
    if (dropout_gen_) {
      keep.bernoulli_(1.0 - l.dropout, *dropout_gen_);
    } else {
      keep.bernoulli_(1.0 - l.dropout);
    }
    in = x * keep / (1.0 - l.dropout);
  }
  if (options_.compute_dtype == at::kFloat) {
    at::Tensor z = at::linear(at::linear(in.to(at::kFloat), l.lora_a), l.lora_b) * l.scaling;
    return y + z.to(y.scalar_type());
  }
  // Autocast-like: float32 master weights, matmuls in the compute dtype.
  at::Tensor a = l.lora_a.to(options_.compute_dtype), b = l.lora_b.to(options_.compute_dtype);
  return y + at::linear(at::linear(in.to(options_.compute_dtype), a), b) * l.scaling;
}

bool DecoderModel::EagerAttention() const {
#if TORCH_VERSION_MAJOR >= 2
  return !options_.use_sdpa;
#else
  return true;
#endif
}

at::Tensor DecoderModel::Attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                   const at::Tensor& bias, const at::Tensor& row_valid) {
  const int64_t b = q.size(0), nh = q.size(1), s = q.size(2), hd = q.size(3), nkv = k.size(1);
  auto repeat_kv = [&](const at::Tensor& t) {
    return nkv == nh ? t
                     : t.unsqueeze(2).expand({b, nkv, nh / nkv, s, hd}).reshape({b, nh, s, hd});
  };
  at::Tensor out;
#if TORCH_VERSION_MAJOR >= 2
  if (!EagerAttention()) {
    out = bias.defined()
              ? at::scaled_dot_product_attention(q, repeat_kv(k), repeat_kv(v), bias, 0.0, false)
              : at::scaled_dot_product_attention(q, repeat_kv(k), repeat_kv(v), {}, 0.0, true);
  }
#endif
  // transformers' eager_attention_forward, with q already scaled by 1/sqrt(head_dim) (folded into
  // its RoPE tables by LayerForward) and the mask added in place.
  if (!out.defined() && bias.defined()) {  // padding or a sliding window: the general mask
    at::Tensor scores = at::matmul(q, repeat_kv(k).transpose(-2, -1));
    scores.add_(bias);
    at::Tensor probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
    out = at::matmul(probs, repeat_kv(v));
  } else if (!out.defined()) {
    out = CausalAttention::apply(q, k, v);
  }
  if (row_valid.defined()) out = out * row_valid;
  return out;
}

std::vector<at::Tensor> DecoderModel::Group(const at::Tensor& x, const at::Tensor& weight,
                                            const at::Tensor& bias,
                                            const std::vector<const Linear*>& parts, bool train) {
  std::vector<int64_t> sizes;
  for (const Linear* l : parts) sizes.push_back(l->weight.size(0));
  bool lora = false, dropout = false;
  for (const Linear* l : parts) {
    lora = lora || l->lora_a.defined();
    dropout = dropout || (train && l->lora_a.defined() && l->dropout > 0);
  }
  if (!lora) {
    at::Tensor y = bias.defined() ? at::linear(x, weight, bias) : at::linear(x, weight);
    return parts.size() == 1 ? std::vector<at::Tensor>{y} : y.split_with_sizes(sizes, -1);
  }
  if (dropout) {  // each projection draws its own mask of x: one LoRA term at a time
    at::Tensor y = bias.defined() ? at::linear(x, weight, bias) : at::linear(x, weight);
    std::vector<at::Tensor> out =
        parts.size() == 1 ? std::vector<at::Tensor>{y} : y.split_with_sizes(sizes, -1);
    for (size_t i = 0; i < parts.size(); ++i) out[i] = AddLora(*parts[i], x, out[i], train);
    return out;
  }
  // The layouts live in fused_parts_ (stable addresses) as long as the model.
  std::vector<at::Tensor> params;
  auto desc = std::make_unique<std::vector<FusedLoraPart>>();
  int64_t row = 0;
  for (const Linear* l : parts) {
    const bool has = l->lora_a.defined();
    desc->push_back({row, l->weight.size(0), has ? l->scaling : 0.0, has});
    if (has) {
      params.push_back(l->lora_a);
      params.push_back(l->lora_b);
    }
    row += l->weight.size(0);
  }
  const std::vector<FusedLoraPart>* key = nullptr;
  for (const auto& known : fused_parts_) {
    if (known->size() != desc->size()) continue;
    bool same = true;
    for (size_t i = 0; i < desc->size() && same; ++i) {
      const FusedLoraPart &x = (*known)[i], &y = (*desc)[i];
      same = x.row == y.row && x.rows == y.rows && x.scaling == y.scaling && x.lora == y.lora;
    }
    if (same) key = known.get();
  }
  if (!key) {
    fused_parts_.push_back(std::move(desc));
    key = fused_parts_.back().get();
  }
  c10::optional<at::Tensor> b = bias.defined() ? c10::optional<at::Tensor>(bias) : c10::nullopt;
  return FusedLora::apply(x, weight, b, at::TensorList(params), reinterpret_cast<int64_t>(key));
}

at::Tensor DecoderModel::LayerForward(int64_t li, const at::Tensor& x, const at::Tensor& cos,
                                      const at::Tensor& sin, const at::Tensor& bias,
                                      const at::Tensor& row_valid, bool train) {
  Layer& L = layers_[li];
  const int64_t b = x.size(0), s = x.size(1), nh = config_.num_heads, nkv = config_.num_kv_heads,
                hd = config_.head_dim;
  at::Tensor h = RmsNorm(x, L.input_norm);
  std::vector<at::Tensor> qkv = Group(h, L.qkv_weight, L.qkv_bias, {&L.q, &L.k, &L.v}, train);
  at::Tensor q = qkv[0].reshape({b, s, nh, hd});
  at::Tensor k = qkv[1].reshape({b, s, nkv, hd});
  at::Tensor v = qkv[2].reshape({b, s, nkv, hd}).transpose(1, 2);
  if (config_.qk_norm) {
    q = RmsNorm(q, L.q_norm);
    k = RmsNorm(k, L.k_norm);
  }
  q = q.transpose(1, 2);
  k = k.transpose(1, 2);
  if (EagerAttention()) {  // the softmax scale on q's [S, head_dim] tables, not on the scores
    const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
    q = Rope::apply(q, cos * scale, sin * scale);
  } else {
    q = Rope::apply(q, cos, sin);
  }
  k = Rope::apply(k, cos, sin);
  at::Tensor attn = Attention(q, k, v, bias, row_valid).transpose(1, 2).reshape({b, s, nh * hd});
  at::Tensor out = x + Group(attn, L.o.weight, L.o.bias, {&L.o}, train)[0];
  h = RmsNorm(out, L.post_norm);
  std::vector<at::Tensor> gu =
      Group(h, L.gate_up_weight, L.gate_up_bias, {&L.gate, &L.up}, train);
  at::Tensor mlp = Group(at::silu(gu[0]) * gu[1], L.down.weight, L.down.bias, {&L.down}, train)[0];
  return out + mlp;
}

at::Tensor DecoderModel::Hidden(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                                bool train) {
  const at::Device dev = options_.device;
  at::Tensor ids = input_ids.to(dev, at::kLong);
  const int64_t b = ids.size(0), s = ids.size(1);
  at::Tensor x = at::embedding(embed_, ids);

  // Positions 0..S-1 whatever the padding (transformers' forward without position_ids).
  at::Tensor pos = at::arange(s, at::TensorOptions().dtype(at::kFloat).device(dev));
  at::Tensor freqs = pos.unsqueeze(1) * inv_freq_.unsqueeze(0);
  at::Tensor emb = at::cat({freqs, freqs}, -1);
  at::Tensor cos = emb.cos().to(options_.compute_dtype), sin = emb.sin().to(options_.compute_dtype);

  // Additive mask: causal, sliding window, padding. Rows that may attend to nothing (queries on
  // left padding) are unmasked here and zeroed after attention, which is what SDPA returns for
  // them.
  at::Tensor bias, row_valid;
  const bool padded = attention_mask.defined() && !attention_mask.to(at::kCPU).all().item<bool>();
  if (padded || config_.sliding_window > 0) {
    at::Tensor qi = at::arange(s, at::TensorOptions().dtype(at::kLong).device(dev)).unsqueeze(1);
    at::Tensor ki = qi.transpose(0, 1);
    at::Tensor allowed = (ki <= qi);
    if (config_.sliding_window > 0)
      allowed = allowed.logical_and((qi - ki) < config_.sliding_window);
    allowed = allowed.unsqueeze(0).expand({b, s, s});
    if (padded) allowed = allowed.logical_and(attention_mask.to(dev).to(at::kBool).unsqueeze(1));
    at::Tensor any = allowed.any(-1, /*keepdim=*/true);  // [B, S, 1]
    allowed = allowed.logical_or(any.logical_not());
    bias = at::zeros({b, 1, s, s}, at::TensorOptions().dtype(options_.compute_dtype).device(dev))
               .masked_fill(allowed.logical_not().unsqueeze(1),
                            -std::numeric_limits<float>::infinity());
    if (!any.all().item<bool>())
      row_valid = any.unsqueeze(1).to(options_.compute_dtype);  // [B, 1, S, 1]
  }

  const bool checkpoint = options_.activation_checkpointing && train && at::GradMode::is_enabled();
  for (int64_t l = 0; l < static_cast<int64_t>(layers_.size()); ++l) {
    if (checkpoint) {
      std::vector<at::Tensor> params;
      Layer& L = layers_[l];
      for (Linear* p : {&L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down}) {
        if (p->lora_a.defined()) {
          params.push_back(p->lora_a);
          params.push_back(p->lora_b);
        }
      }
      c10::optional<at::Tensor> ob =
          bias.defined() ? c10::optional<at::Tensor>(bias) : c10::nullopt;
      c10::optional<at::Tensor> orv =
          row_valid.defined() ? c10::optional<at::Tensor>(row_valid) : c10::nullopt;
      x = CheckpointedLayer::apply(x, at::TensorList(params), cos, sin, ob, orv, l,
                                   reinterpret_cast<int64_t>(this))[0];
    } else {
      x = LayerForward(l, x, cos, sin, bias, row_valid, train);
    }
  }
  return RmsNorm(x, final_norm_);
}

at::Tensor DecoderModel::Logits(const at::Tensor& hidden) {
  return at::linear(hidden, lm_head_).to(at::kFloat);
}

std::pair<at::Tensor, int64_t> DecoderModel::LossSum(const at::Tensor& hidden,
                                                     const at::Tensor& labels) {
  const int64_t s = hidden.size(1), hsz = hidden.size(2), vocab = lm_head_.size(0);
  at::Tensor h = hidden.narrow(1, 0, s - 1).reshape({-1, hsz});
  at::Tensor t = labels.to(hidden.device(), at::kLong).narrow(1, 1, s - 1).reshape({-1});
  at::Tensor idx = (t != -100).nonzero().squeeze(1);
  const int64_t n = idx.numel();
  if (n == 0)
    return {at::zeros({}, hidden.options().dtype(at::kFloat)) * h.sum().to(at::kFloat), 0};
  at::Tensor hs = h.index_select(0, idx), ts = t.index_select(0, idx);
  // A chunk of rows at a time: its float32 logits [rows, vocab] are the only large tensor, and
  // nothing of size is kept for backward. Automatic: chunks of about 1 GiB of logits on CUDA; on
  // CPU about 32 MiB but at least 512 rows, because each chunk's two matmuls read all of lm_head
  // (fewer rows made the 151936-wide Qwen head memory-bound), in chunks of equal size.
  int64_t chunk = options_.loss_chunk_rows;
  if (chunk <= 0) {
    chunk = options_.device.is_cpu() ? std::max<int64_t>(512, (int64_t{32} << 20) / (4 * vocab))
                                     : std::max<int64_t>(16, (int64_t{1} << 30) / (4 * vocab));
    const int64_t chunks = (n + chunk - 1) / chunk;
    chunk = (n + chunks - 1) / chunks;
  }
  const bool grad = hs.requires_grad() && at::GradMode::is_enabled();
  at::Tensor g = grad ? at::empty({n, hsz}, hs.options().dtype(at::kFloat)) : at::Tensor();
  at::Tensor total = at::zeros({}, hs.options().dtype(at::kFloat));
  {
    at::NoGradGuard no_grad;
    at::Tensor hd = hs.detach();
    for (int64_t start = 0; start < n; start += chunk) {
      const int64_t len = std::min(chunk, n - start);
      at::Tensor tc = ts.narrow(0, start, len);
      at::Tensor lg = at::linear(hd.narrow(0, start, len), lm_head_).to(at::kFloat);  // [len, V]
      // Cross-entropy = log sum exp(l - max) + max - l[target], in place: four passes over the
      // logits, which end up holding e = exp(l - max).
      at::Tensor target = lg.gather(1, tc.unsqueeze(1)).squeeze(1);
      at::Tensor max = lg.amax(1, /*keepdim=*/true);
      lg.sub_(max).exp_();
      at::Tensor sum = lg.sum(1);
      total += (sum.log() + max.squeeze(1) - target).sum();
      if (grad) {
        // d loss / d h = softmax(l) W - W[target] = (e W) / sum - W[target].
        at::Tensor gh = at::mm(lg.to(lm_head_.scalar_type()), lm_head_).to(at::kFloat);
        gh.div_(sum.unsqueeze(1)).sub_(lm_head_.index_select(0, tc).to(at::kFloat));
        g.narrow(0, start, len).copy_(gh);
      }
    }
  }
  if (!grad) return {total, n};
  // A surrogate whose gradient w.r.t. hs is exactly g: (hs * g).sum() minus itself, detached.
  at::Tensor sur = (hs.to(at::kFloat) * g).sum();
  return {total + (sur - sur.detach()), n};
}

std::vector<std::pair<std::string, at::Tensor>> DecoderModel::LoraParameters() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  int64_t i = 0;
  for (const auto& [name, l] : Projections()) {
    int64_t layer = i++ / 7;
    if (!l->lora_a.defined()) continue;
    out.emplace_back(PeftTensorName(layer, name, true), l->lora_a);
    out.emplace_back(PeftTensorName(layer, name, false), l->lora_b);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

int64_t DecoderModel::TrainableParameters() const {
  int64_t n = 0;
  for (const auto& [name, t] : LoraParameters()) n += t.numel();
  return n;
}

namespace {
std::string TensorBytes(const at::Tensor& t) {
  at::Tensor c = t.detach().to(at::kCPU).contiguous();
  std::string out(c.nbytes(), '\0');
  if (!out.empty()) std::memcpy(out.data(), c.data_ptr(), out.size());
  if (c.data_ptr() != t.data_ptr()) {
    at::NoGradGuard g;
    c.zero_();
  }
  return out;
}
void WipeWrites(std::vector<TensorToWrite>& w) {
  for (auto& t : w) {
    volatile char* p = t.data.data();
    for (size_t i = 0; i < t.data.size(); ++i) p[i] = 0;
  }
}
}  // namespace

Result<std::string> DecoderModel::AdapterSafetensors() const {
  std::vector<TensorToWrite> w;
  for (const auto& [name, t] : LoraParameters()) {
    w.push_back({name, Dtype::kF32, t.sizes().vec(), TensorBytes(t.to(at::kFloat))});
  }
  auto out = WriteSafetensors(w, {{"format", "pt"}});
  WipeWrites(w);
  return out;
}

Result<std::string> DecoderModel::MergedSafetensors() const {
  at::NoGradGuard no_grad;
  const at::ScalarType out_type = config_.dtype == "bfloat16"  ? at::kBFloat16
                                  : config_.dtype == "float16" ? at::kHalf
                                                               : at::kFloat;
  const Dtype out_dtype = out_type == at::kBFloat16 ? Dtype::kBF16
                          : out_type == at::kHalf   ? Dtype::kF16
                                                    : Dtype::kF32;
  std::map<std::string, at::Tensor> named;
  named["model.embed_tokens.weight"] = embed_;
  named["model.norm.weight"] = final_norm_;
  if (!config_.tie_word_embeddings) named["lm_head.weight"] = lm_head_;
  int64_t i = 0;
  for (const auto& [proj, l] : Projections()) {
    int64_t layer = i++ / 7;
    std::string base = ModulePath(layer, proj);
    at::Tensor wt = l->weight;
    if (l->lora_a.defined()) {
      wt = l->weight.to(at::kFloat) + at::matmul(l->lora_b, l->lora_a) * l->scaling;
    }
    named[base + ".weight"] = wt;
    if (l->bias.defined()) named[base + ".bias"] = l->bias;
  }
  for (int64_t l = 0; l < static_cast<int64_t>(layers_.size()); ++l) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    named[p + "input_layernorm.weight"] = layers_[l].input_norm;
    named[p + "post_attention_layernorm.weight"] = layers_[l].post_norm;
    if (config_.qk_norm) {
      named[p + "self_attn.q_norm.weight"] = layers_[l].q_norm;
      named[p + "self_attn.k_norm.weight"] = layers_[l].k_norm;
    }
  }
  std::vector<TensorToWrite> w;
  for (const auto& [name, t] : named) {
    w.push_back({name, out_dtype, t.sizes().vec(), TensorBytes(t.to(out_type))});
  }
  auto out = WriteSafetensors(w, {{"format", "pt"}});
  WipeWrites(w);
  return out;
}

void DecoderModel::Wipe() {
  ZeroTensor(embed_);
  ZeroTensor(final_norm_);
  ZeroTensor(lm_head_);
  for (Layer& L : layers_) {
    for (at::Tensor* t : {&L.input_norm, &L.post_norm, &L.q_norm, &L.k_norm, &L.qkv_weight,
                          &L.qkv_bias, &L.gate_up_weight, &L.gate_up_bias}) {
      ZeroTensor(*t);
    }
    for (Linear* p : {&L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down}) {
      ZeroTensor(p->weight);
      ZeroTensor(p->bias);
      ZeroTensor(p->lora_a);
      ZeroTensor(p->lora_b);
    }
  }
}

}  // namespace triad::trainer::internal
