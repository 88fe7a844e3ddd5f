#!/usr/bin/env python3
"""The transformers + peft side of bench/gpu/check.sh. Needs torch with CUDA, transformers, peft, safetensors.

  peer_check.py reference --fixture DIR --triad FILE --device cuda
      The fixture's base model with its peft adapter in bfloat16 on the device: logits, loss and LoRA
      gradients, as fixture_check computed them with Triad (FILE). Both are measured against the
      fixture's float32 references; Triad passes when each of its errors is within twice peft's own
      bf16 error (plus a floor of 1e-3 of the reference's scale), i.e. "within bf16 tolerances".
  peer_check.py adapter --fixture DIR --adapter DIR --device cuda
      peft loads the adapter Triad wrote (PeftModel.from_pretrained) onto the fixture's base model in
      float32 and computes the logits on the reference input; they must equal Triad's within 1e-4 of
      their scale.
Prints one JSON line; exits 1 when the check fails.
"""
import argparse
import json
import sys

import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM


def rel(a, b):
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    return ((a - b).abs().max() / b.abs().max()).item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["reference", "adapter"])
    ap.add_argument("--fixture", required=True)
    ap.add_argument("--triad")
    ap.add_argument("--adapter")
    ap.add_argument("--device", default="cuda")
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    ref = load_file(f"{a.fixture}/reference.safetensors")
    ids = ref["input_ids"].to(a.device)
    if a.mode == "reference":
        base = AutoModelForCausalLM.from_pretrained(f"{a.fixture}/base", torch_dtype=torch.bfloat16)
        model = PeftModel.from_pretrained(base, f"{a.fixture}/adapter", is_trainable=True).to(a.device)
        out = model(input_ids=ids, labels=ids)
        out.loss.backward()
        triad = load_file(a.triad)
        rows = []
        ok = True

        def compare(what, peer, mine, want):
            nonlocal ok
            e_peer, e_triad = rel(peer, want), rel(mine, want)
            passed = e_triad <= 2 * e_peer + 1e-3
            ok = ok and passed
            rows.append({"what": what, "peft_bf16_err": e_peer, "triad_bf16_err": e_triad, "ok": passed})

        compare("logits", out.logits.float(), triad["logits"], ref["lora_logits"])
        compare("loss", out.loss.float().reshape(1), triad["loss"].reshape(1), ref["lora_loss"].reshape(1))
        for name, p in model.named_parameters():
            if "lora_" not in name:
                continue
            key = "grad." + name.replace(".default", "")
            compare(key, p.grad.float(), triad[key], ref[key])
        worst = max(rows, key=lambda r: r["triad_bf16_err"])
        print(json.dumps({"mode": "reference", "fixture": a.fixture, "ok": ok, "tensors": len(rows),
                          "worst": worst, "failed": [r for r in rows if not r["ok"]]}))
        sys.exit(0 if ok else 1)
    base = AutoModelForCausalLM.from_pretrained(f"{a.fixture}/base", torch_dtype=torch.float32)
    model = PeftModel.from_pretrained(base, a.adapter).to(a.device).eval()
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=ref["attention_mask"].to(a.device)).logits
    mine = load_file(f"{a.adapter}/triad_logits.safetensors")["logits"]
    err = rel(logits.float(), mine)
    # The adapter must matter: peft without it gives other logits.
    with model.disable_adapter(), torch.no_grad():
        plain = model(input_ids=ids, attention_mask=ref["attention_mask"].to(a.device)).logits
    moved = rel(plain.float(), mine)
    ok = err < 1e-4 and moved > 1e-3
    print(json.dumps({"mode": "adapter", "fixture": a.fixture, "ok": ok, "logits_rel_err": err,
                      "without_adapter_rel_diff": moved}))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
