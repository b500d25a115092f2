// Reading an image folder as wave-learn and wave-client do (core/data): the
// files listed, decoded by libpng on every core, resized and written into
// one set. Prints images per second and the peak memory the read added
// against the decoded data's size (the targets: 5,000 images/s on this
// machine's cores, at most 2x the decoded data).
//
//   build/bench/image_load_bench [--folder=DIR] [--images=20000] [--side=32]
//
// Without --folder it writes `images` random RGB PNGs of side x side into a
// temporary folder of ten classes first (not timed).
#include <png.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "core/data/read_data.h"

ABSL_FLAG(std::string, folder, "", "Image folder to read (default: one written first).");
ABSL_FLAG(int64_t, images, 20000, "Images to write when no --folder is given.");
ABSL_FLAG(int64_t, side, 32, "Side of the written images.");
ABSL_FLAG(int64_t, image_size, 0, "Side to bring images to (0: as they are).");
ABSL_FLAG(int, threads, 0, "Decoding threads (0: every core).");

namespace {

namespace fs = std::filesystem;

std::string WriteFolder(int64_t count, int64_t side) {
  const fs::path dir = fs::temp_directory_path() / ("image_load_bench." + std::to_string(getpid()));
  std::mt19937 rng(1);
  std::vector<uint8_t> pixels(side * side * 3);
  for (int64_t i = 0; i < count; ++i) {
    for (auto& p : pixels) p = static_cast<uint8_t>(rng());
    png_image image;
    std::memset(&image, 0, sizeof(image));
    image.version = PNG_IMAGE_VERSION;
    image.width = image.height = static_cast<png_uint_32>(side);
    image.format = PNG_FORMAT_RGB;
    const fs::path class_dir = dir / std::string(1, static_cast<char>('A' + i % 10));
    fs::create_directories(class_dir);
    png_image_write_to_file(&image, (class_dir / (std::to_string(i) + ".png")).c_str(), 0,
                            pixels.data(), 0, nullptr);
  }
  return dir.string();
}

long PeakRssKb() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::string folder = absl::GetFlag(FLAGS_folder);
  const bool written = folder.empty();
  if (written) folder = WriteFolder(absl::GetFlag(FLAGS_images), absl::GetFlag(FLAGS_side));
  wave::ImageLoadOptions options;
  options.image_size = absl::GetFlag(FLAGS_image_size);
  options.threads = absl::GetFlag(FLAGS_threads);
  const long before_kb = PeakRssKb();
  const auto start = std::chrono::steady_clock::now();
  auto set = wave::ReadImageFolder(folder, options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const long grown_kb = PeakRssKb() - before_kb;
  if (written) fs::remove_all(folder);
  if (!set.ok()) {
    std::fprintf(stderr, "image_load_bench: %s\n", std::string(set.status().message()).c_str());
    return 1;
  }
  const double decoded_mb = set->pixels.size() / 1e6;
  std::printf("images,seconds,images_per_s,decoded_mb,peak_rss_growth_mb,ratio\n");
  std::printf("%lld,%.3f,%.0f,%.2f,%.2f,%.2f\n", static_cast<long long>(set->count), seconds,
              set->count / seconds, decoded_mb, grown_kb / 1024.0 * 1.048576,
              grown_kb / 1024.0 * 1.048576 / decoded_mb);
  return 0;
}
