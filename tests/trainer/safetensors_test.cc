// safetensors: the shared fixtures parse; every check of the reference reader rejects with its
// reason; the writer round-trips and lays out files as the reference writer does; sharded
// checkpoints.
#include "trainer/safetensors.h"

#include <cstring>

#include "gtest/gtest.h"
#include "tests/trainer/test_util.h"

namespace triad::trainer {
namespace {

std::string Le64(uint64_t n) {
  std::string s;
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
  return s;
}
std::string File(const std::string& header, const std::string& data) {
  return Le64(header.size()) + header + data;
}

std::string Reason(std::string_view buffer) {
  auto f = SafetensorsFile::Parse(buffer);
  return f.ok() ? "OK" : f.status().message();
}

TEST(SafetensorsTest, ParsesTheSharedFixtures) {
  std::string buf = testing::ReadFile(testing::Fixture("qwen2_tiny/base/model.safetensors"));
  auto f = SafetensorsFile::Parse(buf);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->tensors().size(), 26u);
  EXPECT_EQ(f->metadata().at("format"), "pt");
  const TensorView* e = f->Find("model.embed_tokens.weight");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->dtype, Dtype::kF32);
  EXPECT_EQ(e->shape, (std::vector<int64_t>{512, 64}));
  EXPECT_EQ(e->data.size(), 512u * 64 * 4);
  std::string ref = testing::ReadFile(testing::Fixture("qwen2_tiny/reference.safetensors"));
  auto r = SafetensorsFile::Parse(ref);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->Find("input_ids")->dtype, Dtype::kI64);
  EXPECT_EQ(r->metadata().at("transformers"), "5.17.0");
}

TEST(SafetensorsTest, RejectsWhatTheReferenceRejects) {
  const std::string ok_header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  EXPECT_EQ(Reason(File(ok_header, std::string(8, '\0'))), "OK");
  EXPECT_EQ(Reason("1234567"),
            "safetensors: file of 7 bytes is shorter than the 8-byte header length");
  EXPECT_EQ(Reason(Le64(100000001) + "{}"),
            "safetensors: header length 100000001 exceeds the limit of 100000000 bytes");
  EXPECT_EQ(Reason(Le64(10) + "{}"),
            "safetensors: header length 10 runs past the end of the 10-byte file");
  EXPECT_EQ(Reason(Le64(~0ull) + "{}"),
            "safetensors: header length 18446744073709551615 exceeds the limit of 100000000 bytes");
  EXPECT_EQ(Reason(File("{\"\xff\":1}", "")), "safetensors: header is not valid UTF-8");
  EXPECT_EQ(Reason(File("{\"\xc0\xaf\":1}", "")),
            "safetensors: header is not valid UTF-8");  // overlong
  EXPECT_EQ(Reason(File(" {}", "")), "safetensors: header does not start with '{'");
  EXPECT_EQ(Reason(File("", "")), "safetensors: header does not start with '{'");
  EXPECT_EQ(Reason(File("{", "")), "safetensors header: invalid JSON (syntax error at byte 2)");
  EXPECT_EQ(Reason(File(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"a":1})", "")),
            "safetensors header: invalid JSON: duplicate key \"a\"");
  EXPECT_EQ(Reason(File(R"({"a":1})", "")), "safetensors: tensor \"a\" is not an object");
  EXPECT_EQ(Reason(File(R"({"a":{"dtype":"F32","shape":[2]}})", "")),
            "safetensors: tensor \"a\" lacks dtype, shape or data_offsets");
  EXPECT_EQ(Reason(File(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})",
                        std::string(8, '\0'))),
            "safetensors: tensor \"a\" has an unknown field \"x\"");
  EXPECT_EQ(Reason(File(R"({"a":{"dtype":"F31","shape":[2],"data_offsets":[0,8]}})",
                        std::string(8, '\0'))),
            "safetensors: tensor \"a\": unknown dtype \"F31\"");
  EXPECT_EQ(
      Reason(
          File(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", std::string(8, '\0'))),
      "safetensors: tensor \"a\": shape entry must be a non-negative integer, not an integer");
  EXPECT_EQ(Reason(File(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", "")),
            "safetensors: tensor \"a\": data_offsets is not a pair");
  EXPECT_EQ(
      Reason(File(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,1.5]}})", "")),
      "safetensors: tensor \"a\": data_offsets end must be a non-negative integer, not a number");
  EXPECT_EQ(Reason(File(R"({"__metadata__":{"k":1}})", "")),
            "safetensors: __metadata__ value of \"k\" is not a string");
  // Size: numel x dtype size must equal the span.
  EXPECT_EQ(Reason(File(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})",
                        std::string(8, '\0'))),
            "safetensors: tensor \"a\": shape and dtype give 12 bytes but data_offsets span 8");
  EXPECT_EQ(
      Reason(File(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})",
                  "")),
      "safetensors: tensor \"a\": shape element count overflows");
  EXPECT_EQ(Reason(File(
                R"({"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]}})", "")),
            "safetensors: tensor \"a\": byte size overflows");
  // Coverage: no gap at the start, between tensors, or at the end; no overlap; no reversed range.
  EXPECT_EQ(Reason(File(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                        std::string(8, '\0'))),
            "safetensors: tensor \"a\": data_offsets [4, 8] do not continue at byte 0 (gap, "
            "overlap or reversed range)");
  EXPECT_EQ(
      Reason(File(
          R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})",
          std::string(6, '\0'))),
      "safetensors: tensor \"b\": data_offsets [2, 6] do not continue at byte 4 (gap, overlap or "
      "reversed range)");
  EXPECT_EQ(
      Reason(File(
          R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
          std::string(12, '\0'))),
      "safetensors: tensor \"b\": data_offsets [8, 12] do not continue at byte 4 (gap, overlap or "
      "reversed range)");
  EXPECT_EQ(
      Reason(File(
          R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}})",
          "")),
      "safetensors: tensor \"b\": data_offsets [4, 0] do not continue at byte 0 (gap, overlap or "
      "reversed range)");
  EXPECT_EQ(Reason(File(ok_header, std::string(12, '\0'))),
            "safetensors: tensors cover 8 of the 12 data bytes (trailing bytes)");
  EXPECT_EQ(Reason(File(ok_header, std::string(4, '\0'))),
            "safetensors: tensor \"a\": data_offsets end 8 is past the 4-byte data section");
  EXPECT_EQ(Reason(File(
                std::string("{\"a\":") + std::string(100, '[') + std::string(100, ']') + "}", "")),
            "safetensors header: invalid JSON: nested deeper than 8 levels");
}

TEST(SafetensorsTest, TensorsMayBeListedOutOfOrderAndHeaderPadded) {
  std::string h =
      R"({"b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]},"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})";
  h += "    ";
  std::string data;
  for (uint16_t v :
       {FloatToF16(1.5f), FloatToF16(-2.0f), FloatToBf16(3.0f), FloatToBf16(0.15625f)}) {
    data.push_back(static_cast<char>(v & 0xFF));
    data.push_back(static_cast<char>(v >> 8));
  }
  std::string buf =
      "x" + File(h, data);  // misaligned on purpose: values are copied out, never cast
  auto f = SafetensorsFile::Parse(std::string_view(buf).substr(1));
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->tensors()[0].name, "a");
  EXPECT_EQ(*CopyToFloat32(*f->Find("a")), (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(*CopyToFloat32(*f->Find("b")), (std::vector<float>{3.0f, 0.15625f}));
}

TEST(SafetensorsTest, HalfConversions) {
  EXPECT_EQ(FloatToF16(65504.0f), 0x7BFF);
  EXPECT_EQ(FloatToF16(65520.0f), 0x7C00);                // rounds to infinity
  EXPECT_EQ(FloatToF16(5.960464477539063e-08f), 0x0001);  // smallest subnormal
  EXPECT_EQ(F16ToFloat(0x0001), 5.960464477539063e-08f);
  EXPECT_EQ(F16ToFloat(0xC000), -2.0f);
  EXPECT_EQ(FloatToBf16(1.00390625f), 0x3F80);  // tie to even
  EXPECT_EQ(FloatToBf16(1.01171875f), 0x3F82);
  for (uint32_t h = 0; h < 0x7C00; ++h)
    ASSERT_EQ(FloatToF16(F16ToFloat(static_cast<uint16_t>(h))), h) << h;
}

TEST(SafetensorsTest, WriterRoundTripsAndMatchesTheReferenceLayout) {
  std::string a(8, '\0'), b(2, '\x01');
  float v[2] = {1.0f, -3.5f};
  std::memcpy(a.data(), v, 8);
  auto out = WriteSafetensors({{"z", Dtype::kF32, {2}, a}, {"b", Dtype::kU8, {1, 2}, b}},
                              {{"format", "pt"}});
  ASSERT_TRUE(out.ok());
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>((*out)[i]);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(
      out->substr(8, n),
      R"({"__metadata__":{"format":"pt"},"b":{"dtype":"U8","shape":[1,2],"data_offsets":[0,2]},"z":{"dtype":"F32","shape":[2],"data_offsets":[2,10]}})"
      "    ");
  auto f = SafetensorsFile::Parse(*out);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(*CopyToFloat32(*f->Find("z")), (std::vector<float>{1.0f, -3.5f}));
  auto dup = WriteSafetensors({{"a", Dtype::kF32, {0}, ""}, {"a", Dtype::kF32, {0}, ""}}, {});
  EXPECT_EQ(dup.status().message(), "safetensors writer: duplicate tensor \"a\"");
  auto size = WriteSafetensors({{"a", Dtype::kF32, {3}, a}}, {});
  EXPECT_EQ(size.status().message(),
            "safetensors writer: tensor \"a\" has 8 bytes; its shape and dtype need 12");
}

TEST(SafetensorsTest, ShardedCheckpoints) {
  std::string s1 = *WriteSafetensors({{"x", Dtype::kF32, {1}, std::string(4, '\0')}}, {});
  std::string s2 = *WriteSafetensors({{"y", Dtype::kF32, {1}, std::string(4, '\0')}}, {});
  const std::string index =
      R"({"metadata":{"total_size":8},"weight_map":{"x":"m-1.safetensors","y":"m-2.safetensors"}})";
  auto all = LoadCheckpoint({{"m-1.safetensors", s1}, {"m-2.safetensors", s2}}, index);
  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_EQ(all->size(), 2u);
  EXPECT_EQ(LoadCheckpoint({{"m-1.safetensors", s1}}, index).status().message(),
            "checkpoint: shard \"m-2.safetensors\" named in the index is missing");
  EXPECT_EQ(LoadCheckpoint(
                {{"m-1.safetensors", s1}, {"m-2.safetensors", s2}, {"m-3.safetensors", s2}}, index)
                .status()
                .message(),
            "checkpoint: shard \"m-3.safetensors\" is not named in the index's weight_map");
  EXPECT_EQ(
      LoadCheckpoint({{"m-1.safetensors", s2}, {"m-2.safetensors", s1}}, index).status().message(),
      "checkpoint: tensor \"y\" is in shard \"m-1.safetensors\" but the index puts it in "
      "\"m-2.safetensors\"");
  EXPECT_EQ(
      LoadCheckpoint({{"m-1.safetensors", s1}, {"m-2.safetensors", s1}}, index).status().message(),
      "checkpoint: tensor \"x\" is in shard \"m-2.safetensors\" but the index puts it in "
      "\"m-1.safetensors\"");
  EXPECT_EQ(LoadCheckpoint({{"a", s1}, {"b", s2}}, "").status().message(),
            "checkpoint: 2 safetensors files but no model.safetensors.index.json");
  EXPECT_EQ(LoadCheckpoint({{"m-1.safetensors", s1}},
                           R"({"weight_map":{"x":"m-1.safetensors","q":"m-1.safetensors"}})")
                .status()
                .message(),
            "checkpoint: tensor \"q\" is in the index but not in shard \"m-1.safetensors\"");
  EXPECT_EQ(
      LoadCheckpoint({{"m-1.safetensors", "bad"}}, R"({"weight_map":{"x":"m-1.safetensors"}})")
          .status()
          .message(),
      "shard \"m-1.safetensors\": safetensors: file of 3 bytes is shorter than the 8-byte header "
      "length");
  EXPECT_EQ(LoadCheckpoint({{"m-1.safetensors", s1}}, R"({"weight_map":[]})").status().message(),
            "model.safetensors.index.json: no \"weight_map\" object");
}

}  // namespace
}  // namespace triad::trainer
