# Sourced by the benchmark scripts: Qwen2.5 shapes (widths, layers, heads and vocabulary of the
# released models), bf16, random weights, made with `triad model init`. eos 0 is the test
# tokenizer's <|endoftext|>. Needs $build (the build directory) and $tmp (a scratch directory).
qwen_config() {
  local hidden=$1 inter=$2 layers=$3 heads=$4
  printf '{"architectures":["Qwen2ForCausalLM"],"model_type":"qwen2","vocab_size":151936,"hidden_size":%d,"intermediate_size":%d,"num_hidden_layers":%d,"num_attention_heads":%d,"num_key_value_heads":2,"rms_norm_eps":1e-6,"rope_theta":1000000.0,"tie_word_embeddings":true,"torch_dtype":"bfloat16","eos_token_id":0,"initializer_range":0.02,"max_position_embeddings":32768}\n' \
    "$hidden" "$inter" "$layers" "$heads"
}
# make_qwen_model SHAPE MODELS_DIR: prints the model's directory (made once, kept in MODELS_DIR).
make_qwen_model() {
  local name=$1 models=$2
  case $name in
    0.5b) qwen_config 896 4864 24 14 >"$tmp/config-$name.json" ;;
    1.5b) qwen_config 1536 8960 28 12 >"$tmp/config-$name.json" ;;
    *) echo "unknown shape $name" >&2; return 2 ;;
  esac
  local dir=$models/qwen2.5-$name
  if ! cmp -s "$tmp/config-$name.json" "$dir/config.json" 2>/dev/null || [[ ! -f "$dir/model.safetensors" ]]; then
    "$build/cli/triad" model init --config "$tmp/config-$name.json" \
      --tokenizer testdata/trainer/tiny_qwen_style.tokenizer.json --out "$dir" >/dev/null
  fi
  echo "$dir"
}
