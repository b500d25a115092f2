#include "core/data/read_data.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/base/file_util.h"
#include "core/base/idx.h"
#include "core/base/status_macros.h"
#include "core/data/image_decode.h"
#include "core/data/npy.h"

namespace wave {
namespace fs = std::filesystem;
namespace {

bool IsImageFile(const std::string& name) {
  const std::string lower = absl::AsciiStrToLower(name);
  return absl::EndsWith(lower, ".png") || absl::EndsWith(lower, ".jpg") ||
         absl::EndsWith(lower, ".jpeg");
}

// The slots of a set whose geometry is known, filled image by image.
class SetWriter {
 public:
  // Refuses a set larger than the options allow before allocating it.
  static absl::StatusOr<SetWriter> Make(int64_t count, int64_t channels, int64_t size,
                                        const ImageLoadOptions& options) {
    const int64_t image_bytes = channels * size * size;
    if (image_bytes > 0 && count > options.max_data_bytes / image_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          count, " images of ", ShapeText(channels, size, size), " need ", count * image_bytes,
          " bytes decoded, over the limit of ", options.max_data_bytes,
          " bytes; use fewer images or a smaller --image_size"));
    }
    SetWriter w;
    w.set_.count = count;
    w.set_.channels = channels;
    w.set_.size = size;
    w.set_.pixels.resize(count * image_bytes);
    w.set_.labels.resize(count);
    return w;
  }

  // Brings `image` to the set's geometry and stores it as image `index`.
  absl::Status Put(int64_t index, const Image& image, int64_t label, const std::string& name,
                   bool resize) {
    if (!resize && (image.height != set_.size || image.width != set_.size)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "image '", name, "' is ", image.height, "x", image.width, " but the first is ",
          set_.size, "x", set_.size, "; give an image size (--image_size) to resize them all"));
    }
    const Image square = ResizeToSquare(ConvertChannels(image, set_.channels), set_.size);
    const int64_t plane = set_.size * set_.size;
    uint8_t* out = set_.pixels.data() + index * set_.image_bytes();
    for (int64_t p = 0; p < plane; ++p) {
      for (int64_t c = 0; c < set_.channels; ++c) {
        out[c * plane + p] = square.pixels[p * set_.channels + c];
      }
    }
    set_.labels[index] = label;
    return absl::OkStatus();
  }

  ImageSet Finish(std::vector<std::string> class_names) {
    set_.class_names = std::move(class_names);
    return std::move(set_);
  }

 private:
  ImageSet set_;
};

// Every PNG/JPEG file under `dir`, sorted, following links to folders; a
// link that leads back to a folder on the way is an error.
absl::Status ListImages(const fs::path& dir, std::set<std::pair<dev_t, ino_t>>* on_path,
                        int64_t max_files, std::vector<std::string>* files) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read folder '", dir.string(), "'"));
  }
  const auto id = std::make_pair(st.st_dev, st.st_ino);
  if (!on_path->insert(id).second) {
    return absl::InvalidArgumentError(
        absl::StrCat("symlink loop: '", dir.string(), "' leads back to a folder above it"));
  }
  std::error_code ec;
  std::vector<fs::path> entries;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    entries.push_back(it->path());
  }
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot list '", dir.string(), "': ", ec.message()));
  }
  std::sort(entries.begin(), entries.end());
  for (const fs::path& entry : entries) {
    if (fs::is_directory(entry, ec)) {
      RETURN_IF_ERROR(ListImages(entry, on_path, max_files, files));
    } else if (IsImageFile(entry.filename().string())) {
      if (static_cast<int64_t>(files->size()) >= max_files) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "the folder holds more than ", max_files, " image files, the limit"));
      }
      files->push_back(entry.string());
    }
  }
  on_path->erase(id);
  return absl::OkStatus();
}

absl::StatusOr<Image> ReadImageFile(const std::string& path, int64_t max_pixels) {
  auto bytes = ReadFileToString(path);
  if (!bytes.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read image '", path, "': ", bytes.status().message()));
  }
  return DecodeImage(*bytes, path, max_pixels);
}

// Decodes files[i] into slot i on `threads` threads; the first error by
// index wins, so the message does not depend on timing.
absl::Status DecodeAll(const std::vector<std::string>& files, const std::vector<int64_t>& labels,
                       bool resize, const ImageLoadOptions& options, SetWriter* writer) {
  int threads = options.threads > 0 ? options.threads
                                    : static_cast<int>(std::thread::hardware_concurrency());
  threads = std::max(1, std::min<int>(threads, static_cast<int>(files.size())));
  std::atomic<int64_t> next{0};
  std::mutex mu;
  int64_t error_index = INT64_MAX;
  absl::Status error;
  auto work = [&] {
    for (int64_t i; (i = next.fetch_add(1)) < static_cast<int64_t>(files.size());) {
      absl::Status s;
      auto image = ReadImageFile(files[i], options.max_image_pixels);
      s = image.ok() ? writer->Put(i, *image, labels[i], files[i], resize) : image.status();
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (i < error_index) {
          error_index = i;
          error = s;
        }
        next = static_cast<int64_t>(files.size());
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  return error;
}

// The channel axis of a rank-4 array: 1 (N x C x H x W) or 3 (N x H x W x C).
absl::StatusOr<int> ChannelAxis(const std::vector<int64_t>& shape) {
  const bool last = shape[3] == 1 || shape[3] == 3;
  const bool second = shape[1] == 1 || shape[1] == 3;
  if (last) return 3;
  if (second) return 1;
  return absl::InvalidArgumentError(absl::StrCat(
      "images of shape [", shape[0], ", ", shape[1], ", ", shape[2], ", ", shape[3],
      "] have no channel axis of size 1 or 3 (N x H x W x C or N x C x H x W)"));
}

absl::StatusOr<std::pair<NpyArray, NpyArray>> LoadArrays(const std::string& path,
                                                         DataFormat format,
                                                         const ImageLoadOptions& options) {
  if (format == DataFormat::kNpz) {
    ASSIGN_OR_RETURN(auto arrays, ReadNpz(path, options.max_data_bytes));
    for (auto [images, labels] : {std::pair<const char*, const char*>{"images", "labels"},
                                  {"x", "y"}}) {
      auto i = arrays.find(images), l = arrays.find(labels);
      if (i != arrays.end() && l != arrays.end()) {
        return std::make_pair(std::move(i->second), std::move(l->second));
      }
    }
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": an .npz needs the arrays 'images' and 'labels' (or 'x' and 'y')"));
  }
  auto read = [&](const std::string& p) -> absl::StatusOr<NpyArray> {
    ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(p));
    auto array = ParseNpy(bytes, options.max_data_bytes);
    if (!array.ok()) {
      return absl::Status(array.status().code(), absl::StrCat(p, ": ", array.status().message()));
    }
    return array;
  };
  std::string labels_path = options.labels_path;
  if (labels_path.empty()) {
    const fs::path p(path);
    for (const fs::path candidate :
         {p.parent_path() / (p.stem().string() + "_labels.npy"), p.parent_path() / "labels.npy"}) {
      if (fs::exists(candidate)) {
        labels_path = candidate.string();
        break;
      }
    }
    if (labels_path.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": no labels found beside it (", p.stem().string(),
          "_labels.npy or labels.npy); name them with --labels"));
    }
  }
  ASSIGN_OR_RETURN(NpyArray images, read(path));
  ASSIGN_OR_RETURN(NpyArray labels, read(labels_path));
  return std::make_pair(std::move(images), std::move(labels));
}

// Pixel (y, x, c) of image n in an array of the given layout, as 8 bits.
struct ArrayLayout {
  int64_t height, width, channels;
  int channel_axis;  // 0: none (N x H x W), 1 or 3
};

absl::StatusOr<ArrayLayout> LayoutOf(const NpyArray& images) {
  ArrayLayout l;
  if (images.shape.size() == 3) {
    l = {images.shape[1], images.shape[2], 1, 0};
  } else if (images.shape.size() == 4) {
    ASSIGN_OR_RETURN(l.channel_axis, ChannelAxis(images.shape));
    l.channels = images.shape[l.channel_axis];
    l.height = images.shape[l.channel_axis == 1 ? 2 : 1];
    l.width = images.shape[l.channel_axis == 1 ? 3 : 2];
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "images have rank ", images.shape.size(),
        "; expected N x H x W, N x H x W x C or N x C x H x W"));
  }
  if (images.type != NpyType::kU8 && images.type != NpyType::kF32) {
    return absl::InvalidArgumentError(absl::StrCat(
        "images of dtype '", images.descr, "' are not supported: uint8 (0-255) or float32 in [0, 1]"));
  }
  return l;
}

absl::Status CheckUnitRange(const NpyArray& images) {
  if (images.type != NpyType::kF32) return absl::OkStatus();
  float lo = INFINITY, hi = -INFINITY;
  const auto* v = reinterpret_cast<const float*>(images.data.data());
  for (int64_t i = 0; i < images.elements(); ++i) {
    lo = std::min(lo, v[i]);
    hi = std::max(hi, v[i]);
    if (std::isnan(v[i])) return absl::InvalidArgumentError("float32 images hold NaN");
  }
  if (images.elements() > 0 && (lo < 0 || hi > 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "float32 images must be in [0, 1] (as torchvision's ToTensor gives); these range from ",
        lo, " to ", hi, ". Already normalized images go to the Python client with "
        "normalized=True"));
  }
  return absl::OkStatus();
}

Image ArrayImage(const NpyArray& images, const ArrayLayout& l, int64_t n) {
  Image image;
  image.height = l.height;
  image.width = l.width;
  image.channels = l.channels;
  image.pixels.resize(l.height * l.width * l.channels);
  const int64_t per_image = l.height * l.width * l.channels;
  const bool is_float = images.type == NpyType::kF32;
  const auto* u8 = reinterpret_cast<const uint8_t*>(images.data.data()) + n * per_image;
  const auto* f32 = reinterpret_cast<const float*>(images.data.data()) + n * per_image;
  for (int64_t y = 0; y < l.height; ++y) {
    for (int64_t x = 0; x < l.width; ++x) {
      for (int64_t c = 0; c < l.channels; ++c) {
        const int64_t src = l.channel_axis == 1 ? (c * l.height + y) * l.width + x
                                                : (y * l.width + x) * l.channels + c;
        image.pixels[(y * l.width + x) * l.channels + c] =
            is_float ? static_cast<uint8_t>(std::lround(f32[src] * 255.0f)) : u8[src];
      }
    }
  }
  return image;
}

std::string IdxLabelsOf(const std::string& images_path) {
  return absl::StrReplaceAll(images_path, {{"images-idx3", "labels-idx1"}});
}

}  // namespace

absl::StatusOr<DataFormat> ParseDataFormat(const std::string& text) {
  if (text.empty() || text == "auto") return DataFormat::kAuto;
  if (text == "folder") return DataFormat::kImageFolder;
  if (text == "npy") return DataFormat::kNpy;
  if (text == "npz") return DataFormat::kNpz;
  if (text == "idx") return DataFormat::kIdx;
  return absl::InvalidArgumentError(
      absl::StrCat("data format '", text, "' is not one of auto, folder, npy, npz, idx"));
}

absl::StatusOr<DataFormat> DetectDataFormat(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    return fs::exists(fs::path(path) / "train-images-idx3-ubyte.gz") ||
                   fs::exists(fs::path(path) / "train-images-idx3-ubyte")
               ? DataFormat::kIdx
               : DataFormat::kImageFolder;
  }
  if (!fs::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat("data '", path, "' does not exist"));
  }
  const std::string lower = absl::AsciiStrToLower(path);
  if (absl::EndsWith(lower, ".npy")) return DataFormat::kNpy;
  if (absl::EndsWith(lower, ".npz")) return DataFormat::kNpz;
  if (absl::StrContains(lower, "idx3-ubyte")) return DataFormat::kIdx;
  return absl::InvalidArgumentError(absl::StrCat(
      "cannot tell the format of '", path,
      "': give an image folder, a .npy, a .npz or an IDX images file (or --data_format)"));
}

absl::StatusOr<ImageSet> ReadImageFolder(const std::string& dir, const ImageLoadOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(absl::StrCat("image folder '", dir, "' does not exist"));
  }
  std::vector<std::string> class_names;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (fs::is_directory(it->path(), ec)) class_names.push_back(it->path().filename().string());
  }
  std::sort(class_names.begin(), class_names.end());
  if (class_names.size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "image folder '", dir, "' has ", class_names.size(),
        " class sub-folders; it needs one per class (at least 2), as torchvision's ImageFolder"));
  }
  std::vector<std::string> files;
  std::vector<int64_t> labels;
  for (size_t c = 0; c < class_names.size(); ++c) {
    std::set<std::pair<dev_t, ino_t>> on_path;
    const size_t before = files.size();
    RETURN_IF_ERROR(
        ListImages(fs::path(dir) / class_names[c], &on_path, options.max_files, &files));
    if (files.size() == before) {
      return absl::InvalidArgumentError(absl::StrCat(
          "class folder '", (fs::path(dir) / class_names[c]).string(),
          "' has no PNG or JPEG files; remove it or add its images"));
    }
    labels.resize(files.size(), static_cast<int64_t>(c));
  }
  const int64_t channels = options.channels > 0 ? options.channels : 3;
  int64_t size = options.image_size;
  if (size == 0) {
    ASSIGN_OR_RETURN(Image first, ReadImageFile(files[0], options.max_image_pixels));
    if (first.height != first.width) {
      return absl::InvalidArgumentError(absl::StrCat(
          "image '", files[0], "' is ", first.height, "x", first.width,
          ", not square; give an image size (--image_size) to resize and crop every image"));
    }
    size = first.height;
  }
  ASSIGN_OR_RETURN(SetWriter writer,
                   SetWriter::Make(static_cast<int64_t>(files.size()), channels, size, options));
  RETURN_IF_ERROR(DecodeAll(files, labels, options.image_size > 0, options, &writer));
  return writer.Finish(std::move(class_names));
}

absl::StatusOr<ImageSet> ReadNumpyData(const std::string& path, DataFormat format,
                                       const ImageLoadOptions& options) {
  ASSIGN_OR_RETURN(auto arrays, LoadArrays(path, format, options));
  auto& [images, labels] = arrays;
  auto fail = [&](const absl::Status& s) {
    return absl::Status(s.code(), absl::StrCat(path, ": ", s.message()));
  };
  auto layout = LayoutOf(images);
  if (!layout.ok()) return fail(layout.status());
  if (labels.shape.size() != 1 || !IsInteger(labels.type)) {
    return fail(absl::InvalidArgumentError(absl::StrCat(
        "labels must be one integer array [N]; got dtype '", labels.descr, "' of rank ",
        labels.shape.size())));
  }
  const int64_t count = images.shape[0];
  if (labels.shape[0] != count) {
    return fail(absl::InvalidArgumentError(
        absl::StrCat(count, " images but ", labels.shape[0], " labels")));
  }
  if (auto s = CheckUnitRange(images); !s.ok()) return fail(s);
  if (options.image_size == 0 && layout->height != layout->width) {
    return fail(absl::InvalidArgumentError(
        absl::StrCat("images are ", layout->height, "x", layout->width,
                     ", not square; give an image size (--image_size) to resize them")));
  }
  const int64_t channels = options.channels > 0 ? options.channels : layout->channels;
  const int64_t size = options.image_size > 0 ? options.image_size : layout->height;
  ASSIGN_OR_RETURN(SetWriter writer, SetWriter::Make(count, channels, size, options));
  std::vector<int64_t> label_values(count);
  for (int64_t n = 0; n < count; ++n) label_values[n] = NpyInt(labels, n);
  auto names = NumberedClassNames(label_values);
  if (!names.ok()) return fail(names.status());
  for (int64_t n = 0; n < count; ++n) {
    RETURN_IF_ERROR(writer.Put(n, ArrayImage(images, *layout, n), label_values[n],
                               absl::StrCat(path, "[", n, "]"), true));
  }
  return writer.Finish(std::move(*names));
}

absl::StatusOr<ImageSet> ReadIdxData(const std::string& path, const ImageLoadOptions& options) {
  std::string images_path = path;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    images_path = (fs::path(path) / "train-images-idx3-ubyte.gz").string();
    if (!fs::exists(images_path)) images_path = (fs::path(path) / "train-images-idx3-ubyte").string();
  }
  const std::string labels_path =
      options.labels_path.empty() ? IdxLabelsOf(images_path) : options.labels_path;
  ASSIGN_OR_RETURN(LabelledImages idx, ReadIdxImagesAndLabels(images_path, labels_path));
  if (options.image_size == 0 && idx.rows != idx.cols) {
    return absl::InvalidArgumentError(absl::StrCat(images_path, ": images are not square; "
                                                   "give an image size (--image_size)"));
  }
  const int64_t channels = options.channels > 0 ? options.channels : 1;
  const int64_t size = options.image_size > 0 ? options.image_size : idx.rows;
  ASSIGN_OR_RETURN(SetWriter writer, SetWriter::Make(idx.count, channels, size, options));
  std::vector<int64_t> labels(idx.labels.begin(), idx.labels.end());
  ASSIGN_OR_RETURN(auto names, NumberedClassNames(labels));
  Image image;
  image.height = idx.rows;
  image.width = idx.cols;
  image.channels = 1;
  for (int64_t n = 0; n < idx.count; ++n) {
    const uint8_t* p = idx.images.data() + n * idx.rows * idx.cols;
    image.pixels.assign(p, p + idx.rows * idx.cols);
    RETURN_IF_ERROR(writer.Put(n, image, labels[n], images_path, true));
  }
  return writer.Finish(std::move(names));
}

std::string IdxTestSplitOf(const std::string& path) {
  std::error_code ec;
  fs::path images(path);
  if (fs::is_directory(path, ec)) images /= "train-images-idx3-ubyte.gz";
  const std::string name = images.filename().string();
  if (!absl::StartsWith(name, "train-")) return "";
  const fs::path test = images.parent_path() / absl::StrCat("t10k-", name.substr(6));
  return fs::exists(test, ec) ? test.string() : "";
}

absl::StatusOr<ImageSet> ReadImageData(const std::string& path, DataFormat format,
                                       const ImageLoadOptions& options) {
  if (options.channels != 0 && options.channels != 1 && options.channels != 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("channels must be 1 or 3, not ", options.channels));
  }
  if (options.image_size < 0 || options.image_size > kMaxImageSide) {
    return absl::InvalidArgumentError(absl::StrCat("image size must be in [1, ", kMaxImageSide,
                                                   "], not ", options.image_size));
  }
  if (format == DataFormat::kAuto) {
    ASSIGN_OR_RETURN(format, DetectDataFormat(path));
  }
  switch (format) {
    case DataFormat::kImageFolder: return ReadImageFolder(path, options);
    case DataFormat::kNpy:
    case DataFormat::kNpz: return ReadNumpyData(path, format, options);
    case DataFormat::kIdx: return ReadIdxData(path, options);
    case DataFormat::kAuto: break;
  }
  return absl::InternalError("unreachable data format");
}

}  // namespace wave
