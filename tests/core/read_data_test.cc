#include "core/data/read_data.h"

#include <png.h>
#include <sys/resource.h>
#include <turbojpeg.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/data/image_decode.h"
#include "core/data/npy.h"
#include "tests/status_matchers.h"
#include "tests/under_asan.h"

namespace wave {
namespace {

namespace fs = std::filesystem;
using ::absl::StatusCode;

// A fresh folder per test.
std::string NewDir(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("read_data_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

// A PNG of h x w x c (1 or 3) pixels, value (y * w + x) * c + k, by libpng.
std::string PngBytes(int h, int w, int c) {
  std::vector<uint8_t> pixels(h * w * c);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 7);
  png_image image;
  std::memset(&image, 0, sizeof(image));
  image.version = PNG_IMAGE_VERSION;
  image.width = w;
  image.height = h;
  image.format = c == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  png_alloc_size_t size = 0;
  EXPECT_TRUE(png_image_write_to_memory(&image, nullptr, &size, 0, pixels.data(), 0, nullptr));
  std::string out(size, '\0');
  EXPECT_TRUE(png_image_write_to_memory(&image, out.data(), &size, 0, pixels.data(), 0, nullptr));
  return out;
}

std::string JpegBytes(int h, int w) {
  std::vector<uint8_t> pixels(h * w * 3, 128);
  tjhandle handle = tjInitCompress();
  unsigned char* jpeg = nullptr;
  unsigned long size = 0;
  EXPECT_EQ(tjCompress2(handle, pixels.data(), w, 0, h, TJPF_RGB, &jpeg, &size, TJSAMP_444, 90, 0),
            0);
  std::string out(reinterpret_cast<char*>(jpeg), size);
  tjFree(jpeg);
  tjDestroy(handle);
  return out;
}

void Write(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string Npy(const std::string& descr, const std::string& shape, const std::string& data) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape +
                       ", }";
  header.resize(((header.size() + 11 + 63) / 64) * 64 - 11, ' ');
  header += '\n';
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  return out + header + data;
}

std::string Int64s(std::vector<int64_t> v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 8);
}

std::string Npz(const std::string& path, const std::map<std::string, std::string>& arrays) {
  int error = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  EXPECT_NE(z, nullptr);
  std::vector<std::string> keep;
  for (const auto& [name, bytes] : arrays) {
    keep.push_back(bytes);
    zip_source_t* src = zip_source_buffer(z, keep.back().data(), keep.back().size(), 0);
    zip_file_add(z, (name + ".npy").c_str(), src, ZIP_FL_OVERWRITE);
  }
  EXPECT_EQ(zip_close(z), 0);
  return path;
}

TEST(ImageFolderTest, ReadsClassesInSortedOrderAndResizes) {
  const std::string dir = NewDir("folder");
  Write(fs::path(dir) / "cat" / "a.png", PngBytes(8, 12, 3));
  Write(fs::path(dir) / "cat" / "nested" / "b.jpg", JpegBytes(16, 16));
  Write(fs::path(dir) / "ant" / "c.PNG", PngBytes(4, 4, 1));
  Write(fs::path(dir) / "ant" / "notes.txt", "ignored");
  ImageLoadOptions options;
  options.image_size = 4;
  ASSERT_OK_AND_ASSIGN(ImageSet set, ReadImageData(dir, DataFormat::kAuto, options));
  EXPECT_EQ(set.count, 3);
  EXPECT_EQ(set.channels, 3);  // ImageFolder's rule: RGB
  EXPECT_EQ(set.size, 4);
  EXPECT_EQ(set.class_names, (std::vector<std::string>{"ant", "cat"}));
  EXPECT_EQ(set.labels, (std::vector<int64_t>{0, 1, 1}));
  // The grayscale image is repeated into R, G and B.
  const int64_t plane = 16;
  for (int64_t p = 0; p < plane; ++p) {
    EXPECT_EQ(set.pixels[p], set.pixels[plane + p]);
    EXPECT_EQ(set.pixels[p], set.pixels[2 * plane + p]);
  }
}

TEST(ImageFolderTest, PixelsArriveChannelFirstAsWritten) {
  const std::string dir = NewDir("pixels");
  Write(fs::path(dir) / "a" / "x.png", PngBytes(2, 3, 3));
  Write(fs::path(dir) / "b" / "y.png", PngBytes(2, 3, 3));
  ImageLoadOptions options;
  options.image_size = 2;  // 2x3 -> centre crop of columns 0-1 (offset round(0.5) = 0)
  ASSERT_OK_AND_ASSIGN(ImageSet set, ReadImageFolder(dir, options));
  // PngBytes: value ((y * w + x) * c + k) * 7 at (y, x, k), w = 3.
  for (int k = 0; k < 3; ++k) {
    for (int y = 0; y < 2; ++y) {
      for (int x = 0; x < 2; ++x) {
        EXPECT_EQ(set.pixels[(k * 2 + y) * 2 + x], static_cast<uint8_t>(((y * 3 + x) * 3 + k) * 7))
            << k << y << x;
      }
    }
  }
}

TEST(ImageFolderTest, GrayscaleWhenAskedByLuma) {
  const std::string dir = NewDir("luma");
  Write(fs::path(dir) / "a" / "x.png", PngBytes(2, 2, 3));
  Write(fs::path(dir) / "b" / "y.png", PngBytes(2, 2, 3));
  ImageLoadOptions options;
  options.channels = 1;
  ASSERT_OK_AND_ASSIGN(ImageSet set, ReadImageFolder(dir, options));
  // First pixel (0, 7, 14): (0*19595 + 7*38470 + 14*7471 + 32768) >> 16 = 6.
  EXPECT_EQ(set.channels, 1);
  EXPECT_EQ(set.pixels[0], 6);
}

TEST(ImageFolderTest, EmptyClassFolderIsNamed) {
  const std::string dir = NewDir("empty_class");
  Write(fs::path(dir) / "a" / "x.png", PngBytes(4, 4, 3));
  fs::create_directories(fs::path(dir) / "b");
  EXPECT_STATUS(ReadImageFolder(dir, {}), StatusCode::kInvalidArgument,
                "class folder '" + dir + "/b' has no PNG or JPEG files");
}

TEST(ImageFolderTest, TruncatedImagesAreErrorsNamingThePath) {
  const std::string dir = NewDir("truncated");
  Write(fs::path(dir) / "a" / "x.png", PngBytes(4, 4, 3));
  const std::string png = PngBytes(16, 16, 3);
  Write(fs::path(dir) / "b" / "cut.png", png.substr(0, png.size() / 2));
  EXPECT_STATUS(ReadImageFolder(dir, {}), StatusCode::kInvalidArgument,
                "cannot decode image '" + dir + "/b/cut.png'");
  const std::string jpeg = JpegBytes(32, 32);
  Write(fs::path(dir) / "b" / "cut.png", PngBytes(4, 4, 3));
  Write(fs::path(dir) / "b" / "cut.jpg", jpeg.substr(0, jpeg.size() - 40));
  EXPECT_STATUS(ReadImageFolder(dir, {}), StatusCode::kInvalidArgument,
                "cannot decode image '" + dir + "/b/cut.jpg'");
  Write(fs::path(dir) / "b" / "cut.jpg", "not an image at all");
  EXPECT_STATUS(ReadImageFolder(dir, {}), StatusCode::kInvalidArgument, "neither PNG nor JPEG");
}

TEST(ImageFolderTest, UnequalSizesNeedAnImageSize) {
  const std::string dir = NewDir("unequal");
  Write(fs::path(dir) / "a" / "x.png", PngBytes(4, 4, 3));
  Write(fs::path(dir) / "b" / "y.png", PngBytes(6, 6, 3));
  EXPECT_STATUS(ReadImageFolder(dir, {}), StatusCode::kInvalidArgument, "--image_size");
}

// A PNG whose header announces `side` x `side` pixels (the data are a 1x1
// image's: the reader must refuse before decoding).
std::string PngBomb(uint32_t side) {
  std::string png = PngBytes(1, 1, 3);
  // IHDR: length (4) "IHDR" (4) width (4) height (4) ... CRC over type+data.
  for (int k = 0; k < 2; ++k) {
    for (int i = 0; i < 4; ++i) png[16 + 4 * k + i] = static_cast<char>(side >> (24 - 8 * i));
  }
  const uint32_t crc = crc32(0, reinterpret_cast<const Bytef*>(png.data() + 12), 17);
  for (int i = 0; i < 4; ++i) png[29 + i] = static_cast<char>(crc >> (24 - 8 * i));
  return png;
}

TEST(ImageDecodeTest, ImageBombIsRefusedBeforeDecoding) {
  EXPECT_STATUS(DecodeImage(PngBomb(100000), "bomb.png", kDefaultMaxImagePixels),
                StatusCode::kInvalidArgument,
                "image 'bomb.png' is 100000x100000 = 10000000000 pixels, over the limit");
}

TEST(ImageFolderTest, DataSetOverTheMemoryLimitIsRefusedBeforeDecoding) {
  const std::string dir = NewDir("too_big");
  Write(fs::path(dir) / "a" / "x.png", PngBytes(4, 4, 3));
  Write(fs::path(dir) / "b" / "y.png", PngBytes(4, 4, 3));
  ImageLoadOptions options;
  options.image_size = 1000;
  options.max_data_bytes = 1 << 20;
  EXPECT_STATUS(ReadImageFolder(dir, options), StatusCode::kResourceExhausted,
                "2 images of 3x1000x1000 need 6000000 bytes decoded, over the limit");
}

TEST(ImageFolderTest, SymlinkLoopIsAnError) {
  const std::string dir = NewDir("loop");
  Write(fs::path(dir) / "a" / "x.png", PngBytes(4, 4, 3));
  Write(fs::path(dir) / "b" / "y.png", PngBytes(4, 4, 3));
  fs::create_directory_symlink("..", fs::path(dir) / "b" / "up");
  EXPECT_STATUS(ReadImageFolder(dir, {}), StatusCode::kInvalidArgument, "symlink loop");
}

long PeakRssKb() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

// 100,000 tiny files: the listing and the decoded set are what is held, so
// the peak grows by far less than the files' bytes on disk would suggest.
TEST(ImageFolderTest, HundredThousandTinyFilesStayWithinTheMemoryBound) {
  const std::string dir = NewDir("many");
  const std::string png = PngBytes(2, 2, 3);
  constexpr int kFiles = 100000;
  for (int c = 0; c < 2; ++c) {
    const fs::path class_dir = fs::path(dir) / (c == 0 ? "a" : "b");
    fs::create_directories(class_dir);
    for (int i = 0; i < kFiles / 2; ++i) {
      std::ofstream(class_dir / (std::to_string(i) + ".png"), std::ios::binary) << png;
    }
  }
  const long before = PeakRssKb();
  ASSERT_OK_AND_ASSIGN(ImageSet set, ReadImageFolder(dir, {}));
  const long grown_kb = PeakRssKb() - before;
  EXPECT_EQ(set.count, kFiles);
#if !WAVE_UNDER_ASAN  // ASan's allocator keeps freed memory in quarantine
  // The bound docs/own-data.md states: decoded pixels (1.2 MB here) plus the
  // listing (under 200 bytes a file) plus 32 MiB of working memory.
  const long bound_kb = (set.pixels.size() + 200L * kFiles) / 1024 + 32 * 1024;
  EXPECT_LT(grown_kb, bound_kb);
#else
  (void)grown_kb;
#endif
  fs::remove_all(dir);
}

TEST(NumpyTest, ReadsEveryLayoutAlike) {
  const std::string dir = NewDir("npy");
  // Two 2x2 RGB images: NHWC, NCHW, and uint8 vs float32 in [0, 1].
  std::string nhwc, nchw, f32;
  for (int n = 0; n < 2; ++n) {
    for (int y = 0; y < 2; ++y)
      for (int x = 0; x < 2; ++x)
        for (int c = 0; c < 3; ++c) nhwc += static_cast<char>(n * 100 + c * 10 + y * 2 + x);
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 2; ++y)
        for (int x = 0; x < 2; ++x) nchw += static_cast<char>(n * 100 + c * 10 + y * 2 + x);
  }
  for (char v : nchw) {
    float f = static_cast<uint8_t>(v) / 255.0f;
    f32.append(reinterpret_cast<const char*>(&f), 4);
  }
  Write(fs::path(dir) / "nhwc.npy", Npy("|u1", "(2, 2, 2, 3)", nhwc));
  Write(fs::path(dir) / "nhwc_labels.npy", Npy("<i8", "(2,)", Int64s({1, 0})));
  const std::string npz = Npz(dir + "/nchw.npz", {{"x", Npy("|u1", "(2, 3, 2, 2)", nchw)},
                                                  {"y", Npy("<i8", "(2,)", Int64s({1, 0}))}});
  const std::string f32_npz =
      Npz(dir + "/f32.npz", {{"images", Npy("<f4", "(2, 3, 2, 2)", f32)},
                             {"labels", Npy("<i4", "(2,)", std::string("\1\0\0\0\0\0\0\0", 8))}});
  ASSERT_OK_AND_ASSIGN(ImageSet a, ReadImageData(dir + "/nhwc.npy", DataFormat::kAuto, {}));
  ASSERT_OK_AND_ASSIGN(ImageSet b, ReadImageData(npz, DataFormat::kAuto, {}));
  ASSERT_OK_AND_ASSIGN(ImageSet c, ReadImageData(f32_npz, DataFormat::kAuto, {}));
  EXPECT_EQ(a.pixels, std::vector<uint8_t>(nchw.begin(), nchw.end()));
  EXPECT_EQ(a.pixels, b.pixels);
  EXPECT_EQ(a.pixels, c.pixels);
  EXPECT_EQ(a.labels, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(c.labels, a.labels);
  EXPECT_EQ(a.class_names, (std::vector<std::string>{"0", "1"}));
}

TEST(NumpyTest, BadArraysAreRefusedWithTheReason) {
  const std::string dir = NewDir("npy_bad");
  Write(fs::path(dir) / "labels.npy", Npy("<i8", "(2,)", Int64s({0, 1})));
  Write(fs::path(dir) / "f16.npy", Npy("<f2", "(2, 2, 2)", std::string(16, '\0')));
  EXPECT_STATUS(ReadImageData(dir + "/f16.npy", DataFormat::kAuto, {}),
                StatusCode::kInvalidArgument, ".npy dtype '<f2' is not supported");
  Write(fs::path(dir) / "i64.npy", Npy("<i8", "(2, 2, 2)", std::string(64, '\0')));
  EXPECT_STATUS(ReadImageData(dir + "/i64.npy", DataFormat::kAuto, {}),
                StatusCode::kInvalidArgument, "images of dtype '<i8' are not supported");
  Write(fs::path(dir) / "rank2.npy", Npy("|u1", "(2, 4)", std::string(8, '\0')));
  EXPECT_STATUS(ReadImageData(dir + "/rank2.npy", DataFormat::kAuto, {}),
                StatusCode::kInvalidArgument, "images have rank 2");
  Write(fs::path(dir) / "big.npy", Npy("<f4", "(2, 1, 1)", std::string("\0\0\0\x40\0\0\0\0", 8)));
  EXPECT_STATUS(ReadImageData(dir + "/big.npy", DataFormat::kAuto, {}),
                StatusCode::kInvalidArgument, "float32 images must be in [0, 1]");
  Write(fs::path(dir) / "short.npy", Npy("|u1", "(2, 2, 2)", std::string(5, '\0')));
  EXPECT_STATUS(ReadImageData(dir + "/short.npy", DataFormat::kAuto, {}),
                StatusCode::kInvalidArgument, "needs 8 bytes but the file holds 5");
  Write(fs::path(dir) / "fortran.npy",
        "\x93NUMPY\x01" + std::string(1, '\0') + "\x46" + std::string(1, '\0') +
            "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 2, 2), }" +
            std::string(6, ' ') + "\n" + std::string(8, '\0'));
  EXPECT_STATUS(ReadImageData(dir + "/fortran.npy", DataFormat::kAuto, {}),
                StatusCode::kInvalidArgument, "Fortran-order");
  const std::string npz = Npz(dir + "/names.npz", {{"pixels", Npy("|u1", "(1, 1, 1)", "a")}});
  EXPECT_STATUS(ReadImageData(npz, DataFormat::kAuto, {}), StatusCode::kInvalidArgument,
                "needs the arrays 'images' and 'labels' (or 'x' and 'y')");
  Write(fs::path(dir) / "neg.npy", Npy("|u1", "(2, 1, 1)", "ab"));
  Write(fs::path(dir) / "neg_labels.npy", Npy("<i8", "(2,)", Int64s({0, -3})));
  EXPECT_STATUS(ReadImageData(dir + "/neg.npy", DataFormat::kAuto, {}),
                StatusCode::kInvalidArgument, "label -3 of image 1 is negative");
}

TEST(ImageSetTest, LabelsBeyondTheClassCountAreNamed) {
  ImageSet set;
  set.count = 3;
  set.labels = {0, 4, 1};
  EXPECT_STATUS(ValidateLabels(set, 3), StatusCode::kInvalidArgument,
                "label 4 of image 1 is outside [0, 3)");
  EXPECT_OK(ValidateLabels(set, 5));
}

TEST(ImageSetTest, ResizeFollowsTorchvisionsRule) {
  // 2 x 4 -> shorter side 2 stays, centre crop cuts columns 1-2 (offset
  // round(2 / 2) = 1).
  Image wide{2, 4, 1, {0, 10, 20, 30, 40, 50, 60, 70}};
  Image cut = ResizeToSquare(wide, 2);
  EXPECT_EQ(cut.pixels, (std::vector<uint8_t>{10, 20, 50, 60}));
  // Halving: the bilinear filter's support doubles (the antialias).
  Image square{4, 4, 1, {}};
  for (int i = 0; i < 16; ++i) square.pixels.push_back(static_cast<uint8_t>(i * 10));
  Image half = ResizeToSquare(square, 2);
  EXPECT_EQ(half.pixels.size(), 4u);
  // PIL 9.4's Image.resize((2, 2), BILINEAR) of this image.
  EXPECT_EQ(half.pixels, (std::vector<uint8_t>{36, 52, 98, 114}));
}

TEST(DataFormatTest, DetectsByPath) {
  const std::string dir = NewDir("detect");
  Write(fs::path(dir) / "x.npz", "");
  EXPECT_EQ(*DetectDataFormat(dir), DataFormat::kImageFolder);
  EXPECT_EQ(*DetectDataFormat(dir + "/x.npz"), DataFormat::kNpz);
  EXPECT_STATUS(DetectDataFormat(dir + "/nothing"), StatusCode::kNotFound, "does not exist");
  EXPECT_STATUS(ParseDataFormat("tfrecord"), StatusCode::kInvalidArgument, "not one of auto");
}

}  // namespace
}  // namespace wave
