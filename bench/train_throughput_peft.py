#!/usr/bin/env python3
"""The GPU peer of bench/train_throughput.cc: HF transformers + PEFT, eager bf16, LoRA r on all seven
projections, random weights of the named shape, packed sequences of the same synthetic bytes. Prints
one JSON object with tokens/s, MFU (6N convention, H100 989 TFLOP/s dense bf16) and peak memory.
Needs torch with CUDA, transformers and peft (not installed on the CPU development machines)."""
import argparse
import json
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoConfig, AutoModelForCausalLM

SHAPES = {
    "qwen2.5-0.5b": dict(model_type="qwen2", vocab_size=151936, hidden_size=896, intermediate_size=4864,
                         num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
                         tie_word_embeddings=True, rope_theta=1e6),
    "llama3-8b": dict(model_type="llama", vocab_size=128256, hidden_size=4096, intermediate_size=14336,
                      num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
                      tie_word_embeddings=False, rope_theta=5e5),
}
PEAK_FLOPS = 989e12


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", required=True)
    ap.add_argument("--seq", type=int, default=2048)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--rank", type=int, default=16)
    a = ap.parse_args()
    s = dict(SHAPES[a.shape])
    config = AutoConfig.for_model(s.pop("model_type"), **s, max_position_embeddings=32768)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, torch_dtype=torch.bfloat16, attn_implementation="eager").cuda()
    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    model = get_peft_model(model, LoraConfig(r=a.rank, lora_alpha=2 * a.rank, target_modules=targets))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    gen = torch.Generator().manual_seed(0)
    n = sum(p.numel() for name, p in model.named_parameters() if "embed_tokens" not in name and "lora_" not in name)
    if config.tie_word_embeddings:
        n += config.vocab_size * config.hidden_size
    torch.cuda.reset_peak_memory_stats()
    times = []
    for step in range(a.steps + 2):
        ids = torch.randint(97, 123, (a.batch, a.seq), generator=gen).cuda()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = model(input_ids=ids, labels=ids)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        if step >= 2:  # two warm-up steps
            times.append(time.perf_counter() - t0)
    tps = a.batch * a.seq * len(times) / sum(times)
    print(json.dumps({"implementation": "hf-peft", "shape": a.shape, "seq": a.seq, "batch": a.batch,
                      "tokens_per_second": tps, "mfu_6n": tps * 6 * n / PEAK_FLOPS,
                      "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30}))


if __name__ == "__main__":
    main()
