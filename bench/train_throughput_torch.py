#!/usr/bin/env python3
"""The peer of bench/train_throughput.cc: the same model shape, data, LoRA configuration and optimizer,
written as a plain PyTorch training script (what a careful engineer writes without Triad), so that the
two tokens/s figures compare the trainers and not the setups.

Model: a Qwen2-style decoder (RMSNorm, RoPE, GQA, SwiGLU, q/k/v bias, tied embeddings), random weights.
LoRA r on all seven projections, alpha 2r, AdamW (lr 1e-4), grad-norm clip 1.0, fp32, packed sequences.
Prints one JSON object.
"""
import argparse
import json
import math
import resource
import time

import torch
import torch.nn.functional as F

SHAPES = {"cpu-tiny": dict(vocab=1024, hidden=256, inter=704, layers=4, heads=4, kv=2, theta=1e6),
          # Qwen2.5-0.5B's widths and vocabulary, 2 layers.
          "cpu-small": dict(vocab=151936, hidden=896, inter=4864, layers=2, heads=14, kv=2, theta=1e6)}


def data_ids(steps, batch, seq):
    """The same byte stream as train_throughput.cc: xorshift64 letters, 200 per line, each + EOS 0."""
    x = 88172645463325252
    mask = (1 << 64) - 1
    ids, need = [], (steps * batch + 1) * seq
    while len(ids) < need + 1000:
        for _ in range(200):
            x ^= (x << 13) & mask
            x ^= x >> 7
            x ^= (x << 17) & mask
            ids.append(ord("a") + x % 26)
        ids.append(0)
    return torch.tensor(ids[: steps * batch * seq], dtype=torch.long).view(steps, batch, seq)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", default="cpu-tiny")
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    s = SHAPES[a.shape]
    H, I, L, nh, nkv = s["hidden"], s["inter"], s["layers"], s["heads"], s["kv"]
    hd = H // nh
    std = 0.02
    embed = torch.randn(s["vocab"], H) * std
    layers = []
    lora = []

    def proj(out_f, in_f, bias):
        p = {"w": torch.randn(out_f, in_f) * std, "b": torch.zeros(out_f) if bias else None}
        bound = 1 / math.sqrt(in_f)
        p["A"] = torch.empty(a.rank, in_f).uniform_(-bound, bound).requires_grad_()
        p["B"] = torch.zeros(out_f, a.rank).requires_grad_()
        lora.extend([p["A"], p["B"]])
        return p

    for _ in range(L):
        layers.append(dict(
            n1=torch.ones(H), n2=torch.ones(H),
            q=proj(nh * hd, H, True), k=proj(nkv * hd, H, True), v=proj(nkv * hd, H, True), o=proj(H, nh * hd, False),
            g=proj(I, H, False), u=proj(I, H, False), d=proj(H, I, False)))
    norm = torch.ones(H)
    scaling = 2.0 * a.rank / a.rank
    inv = 1.0 / (s["theta"] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))

    def rms(x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6))

    def lin(x, p):
        return F.linear(x, p["w"], p["b"]) + F.linear(F.linear(x, p["A"]), p["B"]) * scaling

    def rot(x):
        return torch.cat((-x[..., hd // 2:], x[..., : hd // 2]), -1)

    def forward(ids):
        B, S = ids.shape
        x = F.embedding(ids, embed)
        fr = torch.arange(S).float()[:, None] * inv[None, :]
        emb = torch.cat((fr, fr), -1)
        cos, sin = emb.cos(), emb.sin()
        causal = torch.full((S, S), float("-inf")).triu(1)
        for p in layers:
            h = rms(x, p["n1"])
            q = lin(h, p["q"]).view(B, S, nh, hd).transpose(1, 2)
            k = lin(h, p["k"]).view(B, S, nkv, hd).transpose(1, 2)
            v = lin(h, p["v"]).view(B, S, nkv, hd).transpose(1, 2)
            q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
            k, v = k.repeat_interleave(nh // nkv, 1), v.repeat_interleave(nh // nkv, 1)
            att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + causal, -1)
            x = x + lin((att @ v).transpose(1, 2).reshape(B, S, H), p["o"])
            h = rms(x, p["n2"])
            x = x + lin(F.silu(lin(h, p["g"])) * lin(h, p["u"]), p["d"])
        return F.linear(rms(x, norm), embed)

    opt = torch.optim.AdamW(lora, lr=1e-4, weight_decay=0.0)
    batches = data_ids(a.steps, a.batch, a.seq)
    losses = []
    t0, c0 = time.perf_counter(), time.process_time()
    for step in range(a.steps):
        ids = batches[step]
        logits = forward(ids)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]).float(), ids[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(lora, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    tokens = a.steps * a.batch * a.seq
    print(json.dumps({"implementation": "pytorch-script", "torch": torch.__version__, "shape": a.shape,
                      "seq": a.seq, "batch": a.batch, "steps": a.steps, "rank": a.rank, "threads": a.threads,
                      "tokens": tokens, "wall_seconds": wall, "tokens_per_second": tokens / wall,
                      "cpu_seconds": cpu, "tokens_per_cpu_second": tokens / cpu,
                      "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "first_loss": losses[0], "last_loss": losses[-1]}))


if __name__ == "__main__":
    main()
