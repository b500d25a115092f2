#include "core/base/idx.h"

#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "tests/status_matchers.h"

namespace wave {
namespace {

using ::absl::StatusCode;

std::string Idx(std::vector<uint32_t> dims, const std::string& data) {
  std::string out = {0, 0, 0x08, static_cast<char>(dims.size())};
  for (uint32_t d : dims) {
    for (int i = 3; i >= 0; --i) out += static_cast<char>((d >> (8 * i)) & 0xff);
  }
  return out + data;
}

std::string WriteGz(const std::string& name, const std::string& bytes) {
  std::string path = ::testing::TempDir() + "/" + name;
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), bytes.size());
  gzclose(f);
  return path;
}

TEST(IdxTest, ParsesDimensionsAndData) {
  auto array = ParseIdx(Idx({2, 3}, "abcdef"));
  ASSERT_OK(array);
  EXPECT_EQ(array->dims, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(array->data[5], 'f');
}

TEST(IdxTest, ReadsGzippedImagesAndLabels) {
  std::string images = WriteGz("img.gz", Idx({2, 2, 2}, "12345678"));
  std::string labels = WriteGz("lab.gz", Idx({2}, std::string("\x03\x07", 2)));
  auto set = ReadIdxImagesAndLabels(images, labels);
  ASSERT_OK(set);
  EXPECT_EQ(set->count, 2);
  EXPECT_EQ(set->rows, 2);
  EXPECT_EQ(set->labels[1], 7);
}

TEST(IdxTest, RejectsBadMagic) {
  EXPECT_STATUS(ParseIdx(std::string("\x01\x00\x08\x01\x00\x00\x00\x00", 8)),
                StatusCode::kInvalidArgument, "bad magic number");
}

TEST(IdxTest, RejectsUnsupportedElementType) {
  EXPECT_STATUS(ParseIdx(std::string("\x00\x00\x0d\x01\x00\x00\x00\x00", 8)),
                StatusCode::kInvalidArgument, "element type 0xd is not supported");
}

TEST(IdxTest, RejectsTooShortFile) {
  EXPECT_STATUS(ParseIdx("ab"), StatusCode::kInvalidArgument, "shorter than the 4-byte magic");
}

TEST(IdxTest, RejectsTruncatedDimensions) {
  EXPECT_STATUS(ParseIdx(Idx({5, 5}, "").substr(0, 9)), StatusCode::kInvalidArgument,
                "inside the dimension list");
}

TEST(IdxTest, RejectsTruncatedData) {
  EXPECT_STATUS(ParseIdx(Idx({2, 3}, "abc")), StatusCode::kInvalidArgument,
                "need 6 bytes of data but the file has 3");
}

TEST(IdxTest, RejectsZeroDimensions) {
  EXPECT_STATUS(ParseIdx(std::string("\x00\x00\x08\x00", 4)), StatusCode::kInvalidArgument,
                "bad number of dimensions 0");
}

TEST(IdxTest, RejectsTruncatedGzipStream) {
  std::string path = WriteGz("full.gz", Idx({100}, std::string(100, 'x')));
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::string cut = ::testing::TempDir() + "/cut.gz";
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() - 12);
  auto result = ReadIdxFile(cut);
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(std::string(result.status().message()),
              ::testing::AnyOf(::testing::HasSubstr("truncated"),
                               ::testing::HasSubstr("need 100 bytes")));
}

TEST(IdxTest, RejectsMismatchedCounts) {
  std::string images = WriteGz("img3.gz", Idx({3, 1, 1}, "abc"));
  std::string labels = WriteGz("lab2.gz", Idx({2}, "ab"));
  EXPECT_STATUS(ReadIdxImagesAndLabels(images, labels), StatusCode::kInvalidArgument,
                "holds 3 images but");
}

TEST(IdxTest, MissingFileIsNotFound) {
  EXPECT_STATUS(ReadIdxFile("/nonexistent/file.gz"), StatusCode::kNotFound, "cannot open");
}

TEST(IdxTest, ReadsRealFashionMnist) {
  auto test = ReadFashionMnist(kFashionMnistDir, "t10k");
  ASSERT_OK(test);
  EXPECT_EQ(test->count, 10000);
  EXPECT_EQ(test->rows, 28);
  EXPECT_EQ(test->cols, 28);
  int counts[10] = {};
  for (uint8_t l : test->labels) {
    ASSERT_LT(l, 10);
    ++counts[l];
  }
  for (int c : counts) EXPECT_EQ(c, 1000);  // the test set is balanced
  EXPECT_STATUS(ReadFashionMnist(kFashionMnistDir, "val"), StatusCode::kInvalidArgument,
                "'train' or 't10k'");
}

}  // namespace
}  // namespace wave
