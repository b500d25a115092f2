#include "core/base/safetensors.h"

#include <cctype>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/sha256.h"
#include "tests/status_matchers.h"

namespace wave {
namespace {

using ::absl::StatusCode;

// A file from a raw header string and buffer.
std::string RawFile(const std::string& header, const std::string& buffer) {
  std::string out(8, '\0');
  uint64_t len = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  return out + header + buffer;
}

TEST(SafetensorsTest, RoundTripsTensorsAndMetadata) {
  std::vector<float> a = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, 8.0f};
  std::vector<int64_t> b = {42, -7};
  std::vector<uint8_t> c = {1, 2, 3};
  std::vector<uint16_t> d = {0x3c00, 0xc000};  // F16 1.0, -2.0
  SafetensorsWriter writer;
  ASSERT_OK(writer.Add("a", DType::kF32, {2, 3}, a.data(), a.size() * 4));
  ASSERT_OK(writer.Add("b", DType::kI64, {2}, b.data(), b.size() * 8));
  ASSERT_OK(writer.Add("c", DType::kU8, {3}, c.data(), c.size()));
  ASSERT_OK(writer.Add("d", DType::kF16, {2}, d.data(), d.size() * 2));
  ASSERT_OK(writer.Add("e", DType::kBF16, {0}, nullptr, 0));
  writer.SetMetadata("k", "v");
  std::string bytes = writer.Serialize();
  EXPECT_EQ(bytes.size(), writer.TotalBytes());
  // The writer pads the header to 8 bytes.
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  EXPECT_EQ(header_len % 8, 0u);

  auto file = SafetensorsFile::Parse(bytes);
  ASSERT_OK(file);
  EXPECT_EQ(file->metadata().at("k"), "v");
  EXPECT_EQ(file->names(), (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  auto view = file->Get("a");
  ASSERT_OK(view);
  EXPECT_EQ(view->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(view->dtype, DType::kF32);
  EXPECT_EQ(std::memcmp(view->data, a.data(), 24), 0);
  auto vb = file->Get("b");
  ASSERT_OK(vb);
  int64_t b1;
  std::memcpy(&b1, vb->data + 8, 8);
  EXPECT_EQ(b1, -7);
  EXPECT_EQ(file->Get("e")->NumElements(), 0);
  EXPECT_STATUS(file->Get("zzz"), StatusCode::kNotFound, "zzz");
}

TEST(SafetensorsTest, StreamingInSmallChunksGivesTheSameBytes) {
  std::vector<float> a(1000);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i);
  SafetensorsWriter writer;
  ASSERT_OK(writer.Add("a", DType::kF32, {1000}, a.data(), 4000));
  ASSERT_OK(writer.Add("b", DType::kF32, {10, 100}, a.data(), 4000));
  std::string streamed;
  int chunks = 0;
  ASSERT_OK(writer.Stream(333, [&](absl::string_view piece) {
    EXPECT_LE(piece.size(), 333u);
    streamed.append(piece.data(), piece.size());
    ++chunks;
    return absl::OkStatus();
  }));
  EXPECT_EQ(streamed, writer.Serialize());
  EXPECT_EQ(chunks, static_cast<int>((streamed.size() + 332) / 333));
}

// Three tensors (one empty) over `a`'s bytes.
void AddThreeTensors(const std::vector<float>& a, SafetensorsWriter& writer) {
  ASSERT_OK(writer.Add("a", DType::kF32, {1000}, a.data(), 4000));
  ASSERT_OK(writer.Add("empty", DType::kF32, {0}, a.data(), 0));
  ASSERT_OK(writer.Add("b", DType::kF32, {10, 10}, a.data() + 7, 400));
}

TEST(SafetensorsTest, ACursorReadsTheFileInPiecesOfAnySize) {
  std::vector<float> a(1000);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i);
  SafetensorsWriter writer;
  AddThreeTensors(a, writer);
  const std::string whole = writer.Serialize();
  for (size_t piece : {1, 7, 4000, 1 << 20}) {
    SafetensorsWriter::Cursor cursor(writer);
    EXPECT_EQ(cursor.total_bytes(), whole.size());
    std::string read;
    while (!cursor.done()) {
      EXPECT_EQ(cursor.offset(), read.size());
      const size_t before = read.size();
      cursor.Next(piece, &read);
      EXPECT_EQ(read.size() - before, std::min<size_t>(piece, whole.size() - before));
    }
    EXPECT_EQ(read, whole) << "piece " << piece;
  }
}

// Skipping lands where reading would have; the digest read in place is the
// digest of the serialized bytes.
TEST(SafetensorsTest, ACursorSkipsToAnyOffsetAndTheWriterHashesItsBytesInPlace) {
  std::vector<float> a(1000);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i);
  SafetensorsWriter writer;
  AddThreeTensors(a, writer);
  const std::string whole = writer.Serialize();
  for (size_t offset : {size_t{0}, size_t{5}, writer.HeaderBytes().size(),
                        writer.HeaderBytes().size() + 4000, whole.size() - 1, whole.size()}) {
    SafetensorsWriter::Cursor cursor(writer);
    cursor.Skip(offset);
    EXPECT_EQ(cursor.offset(), offset);
    std::string rest;
    while (!cursor.done()) cursor.Next(333, &rest);
    EXPECT_EQ(rest, whole.substr(offset)) << "offset " << offset;
  }
  EXPECT_EQ(writer.Sha256Hex(), Sha256Hex(whole));
}

// The digest is the same however the bytes were handed over, and memory
// waiting to be hashed stays within the bound while the owner goes on.
TEST(Sha256Test, TheBackgroundDigestIsTheDigestOfEveryPieceInOrder) {
  std::string data(3 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 131 % 251);
  for (size_t bound : {size_t{1}, size_t{4096}, size_t{1} << 30}) {
    BackgroundSha256 hash(bound);
    for (size_t at = 0; at < data.size(); at += 100'000) hash.Update(data.substr(at, 100'000));
    EXPECT_EQ(hash.HexDigest(), Sha256Hex(data)) << "bound " << bound;
  }
  BackgroundSha256 empty;
  EXPECT_EQ(empty.HexDigest(), Sha256Hex(""));
  { BackgroundSha256 abandoned(1); abandoned.Update(data); }  // the destructor ends it
}

TEST(SafetensorsTest, StreamStopsAtTheSinksError) {
  std::vector<float> a(100);
  SafetensorsWriter writer;
  ASSERT_OK(writer.Add("a", DType::kF32, {100}, a.data(), 400));
  int calls = 0;
  EXPECT_STATUS(writer.Stream(16, [&](absl::string_view) {
    ++calls;
    return absl::CancelledError("client gone");
  }), StatusCode::kCancelled, "client gone");
  EXPECT_EQ(calls, 1);
}

TEST(SafetensorsTest, WritesAndReadsFiles) {
  std::vector<float> a = {1, 2, 3};
  SafetensorsWriter writer;
  ASSERT_OK(writer.Add("x", DType::kF32, {3}, a.data(), 12));
  const std::string path = ::testing::TempDir() + "/st_test.safetensors";
  ASSERT_OK(writer.WriteFile(path));
  auto file = SafetensorsFile::ReadFile(path);
  ASSERT_OK(file);
  EXPECT_EQ(file->Get("x")->NumElements(), 3);
  EXPECT_STATUS(SafetensorsFile::ReadFile(path + ".missing"), StatusCode::kNotFound, "missing");
}

TEST(SafetensorsTest, WriterRejectsBadTensors) {
  float x[4] = {};
  SafetensorsWriter writer;
  EXPECT_STATUS(writer.Add("x", DType::kF32, {5}, x, 16), StatusCode::kInvalidArgument,
                "do not match");
  ASSERT_OK(writer.Add("x", DType::kF32, {4}, x, 16));
  EXPECT_STATUS(writer.Add("x", DType::kF32, {4}, x, 16), StatusCode::kAlreadyExists,
                "duplicate");
  EXPECT_STATUS(writer.Add("__metadata__", DType::kF32, {4}, x, 16),
                StatusCode::kInvalidArgument, "bad tensor name");
}

struct MalformedCase {
  const char* label;
  std::string bytes;
  const char* message;
};

// For gtest's listing: the label, not the struct's bytes.
void PrintTo(const MalformedCase& c, std::ostream* out) { *out << c.label; }

class MalformedTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedTest, IsRejectedWithAClearMessage) {
  EXPECT_STATUS(SafetensorsFile::Parse(GetParam().bytes), StatusCode::kInvalidArgument,
                GetParam().message);
}

std::string LengthOnly(uint64_t len) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  return out;
}

const std::string kTensor4 = R"("t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]})";

INSTANTIATE_TEST_SUITE_P(
    Safetensors, MalformedTest,
    ::testing::Values(
        MalformedCase{"Empty", "", "shorter than the 8-byte header length"},
        MalformedCase{"Truncated length", std::string(5, '\0'), "shorter than the 8-byte"},
        MalformedCase{"Header past end", LengthOnly(100) + "{}", "runs past the end"},
        MalformedCase{"Huge header", LengthOnly(uint64_t{1} << 40), "exceeds the limit"},
        MalformedCase{"Not an object start", RawFile("[1,2]   ", ""), "does not start with '{'"},
        MalformedCase{"Bad JSON", RawFile("{\"t\":", ""), "not valid JSON"},
        MalformedCase{"Offsets past buffer", RawFile("{" + kTensor4 + "}", "ab"),
                      "out of range"},
        MalformedCase{"Offsets reversed",
                      RawFile(R"({"t":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}})", "abcd"),
                      "out of range"},
        MalformedCase{"Shape mismatch",
                      RawFile(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", "abcd"),
                      "byte count"},
        MalformedCase{"Overlap",
                      RawFile("{" + kTensor4 +
                                  R"(,"u":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})",
                              "abcd"),
                      "overlaps"},
        MalformedCase{"Hole",
                      RawFile(R"({"t":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})", "abcd"),
                      "hole"},
        MalformedCase{"Trailing bytes", RawFile("{" + kTensor4 + "}", "abcdefgh"),
                      "after the last tensor"},
        MalformedCase{"Duplicate name", RawFile("{" + kTensor4 + "," + kTensor4 + "}", "abcd"),
                      "duplicate tensor name 't'"},
        MalformedCase{"Unknown dtype",
                      RawFile(R"({"t":{"dtype":"Q7","shape":[1],"data_offsets":[0,4]}})", "abcd"),
                      "unsupported dtype 'Q7'"},
        MalformedCase{"Negative shape",
                      RawFile(R"({"t":{"dtype":"U8","shape":[-4],"data_offsets":[0,4]}})", "abcd"),
                      "non-negative integer"},
        MalformedCase{"Missing field", RawFile(R"({"t":{"dtype":"U8","shape":[4]}})", "abcd"),
                      "lacks one of"},
        MalformedCase{"Metadata not strings", RawFile(R"({"__metadata__":{"a":1}})", ""),
                      "is not a string"},
        MalformedCase{"Overflowing shape",
                      RawFile(R"({"t":{"dtype":"F32","shape":[4294967296,4294967296],)"
                              R"("data_offsets":[0,4]}})",
                              "abcd"),
                      "byte count"},
        MalformedCase{"Entry not object", RawFile(R"({"t":3})", ""), "is not an object"}),
    [](const ::testing::TestParamInfo<MalformedCase>& info) {
      std::string name;
      for (char ch : std::string(info.param.label)) {
        if (std::isalnum(static_cast<unsigned char>(ch))) name += ch;
      }
      return name;
    });

TEST(SafetensorsTest, AcceptsSpacePaddedHeaderAndEmptyFile) {
  auto file = SafetensorsFile::Parse(RawFile("{}      ", ""));
  ASSERT_OK(file);
  EXPECT_TRUE(file->names().empty());
}

}  // namespace
}  // namespace wave
