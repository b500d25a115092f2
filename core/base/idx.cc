#include "core/base/idx.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"

namespace wave {
namespace {

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("idx: ", what));
}

uint32_t BigEndian32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

absl::StatusOr<std::string> ReadMaybeGzipped(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) {
    std::string message = absl::StrCat("idx: cannot open '", path, "': ", std::strerror(errno));
    return errno == ENOENT ? absl::NotFoundError(message) : absl::UnavailableError(message);
  }
  std::string out;
  char buffer[1 << 16];
  while (true) {
    int n = gzread(file, buffer, sizeof(buffer));
    if (n < 0) {
      int code = 0;
      std::string message = gzerror(file, &code);
      gzclose(file);
      return absl::DataLossError(absl::StrCat("idx: '", path, "' is corrupt: ", message));
    }
    if (n == 0) break;
    out.append(buffer, n);
    if (out.size() > kMaxIdxBytes) {
      gzclose(file);
      return Malformed(absl::StrCat("'", path, "' exceeds ", kMaxIdxBytes, " bytes"));
    }
  }
  // gzread stops quietly at a truncated gzip stream; gzclose reports it.
  int close_code = gzclose(file);
  if (close_code != Z_OK) {
    return absl::DataLossError(absl::StrCat("idx: '", path, "' is truncated or corrupt"));
  }
  return out;
}

}  // namespace

absl::StatusOr<IdxArray> ParseIdx(absl::string_view bytes) {
  if (bytes.size() < 4) return Malformed("file is shorter than the 4-byte magic number");
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (p[0] != 0 || p[1] != 0) {
    return Malformed("bad magic number: the first two bytes must be zero");
  }
  if (p[2] != 0x08) {
    return Malformed(absl::StrCat("element type 0x", absl::Hex(p[2]),
                                  " is not supported (only unsigned byte, 0x08)"));
  }
  const int ndims = p[3];
  if (ndims < 1 || ndims > 4) {
    return Malformed(absl::StrCat("bad number of dimensions ", ndims, " (1 to 4 allowed)"));
  }
  const size_t header = 4 + 4 * static_cast<size_t>(ndims);
  if (bytes.size() < header) return Malformed("file ends inside the dimension list");
  IdxArray array;
  uint64_t count = 1;
  for (int i = 0; i < ndims; ++i) {
    uint32_t dim = BigEndian32(p + 4 + 4 * i);
    array.dims.push_back(dim);
    count *= dim;
    if (count > kMaxIdxBytes) return Malformed("dimensions describe more than the size limit");
  }
  if (bytes.size() - header != count) {
    return Malformed(absl::StrCat("dimensions need ", count, " bytes of data but the file has ",
                                  bytes.size() - header));
  }
  array.data.assign(p + header, p + bytes.size());
  return array;
}

absl::StatusOr<IdxArray> ReadIdxFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string bytes, ReadMaybeGzipped(path));
  auto array = ParseIdx(bytes);
  if (!array.ok()) {
    return absl::Status(array.status().code(),
                        absl::StrCat(array.status().message(), " (in '", path, "')"));
  }
  return array;
}

absl::StatusOr<LabelledImages> ReadIdxImagesAndLabels(const std::string& images_path,
                                                      const std::string& labels_path) {
  ASSIGN_OR_RETURN(IdxArray images, ReadIdxFile(images_path));
  ASSIGN_OR_RETURN(IdxArray labels, ReadIdxFile(labels_path));
  if (images.dims.size() != 3) {
    return Malformed(absl::StrCat("'", images_path, "' has ", images.dims.size(),
                                  " dimensions; images need 3 [n, rows, cols]"));
  }
  if (labels.dims.size() != 1) {
    return Malformed(absl::StrCat("'", labels_path, "' has ", labels.dims.size(),
                                  " dimensions; labels need 1 [n]"));
  }
  if (images.dims[0] != labels.dims[0]) {
    return Malformed(absl::StrCat("'", images_path, "' holds ", images.dims[0],
                                  " images but '", labels_path, "' holds ", labels.dims[0],
                                  " labels"));
  }
  LabelledImages out;
  out.count = images.dims[0];
  out.rows = images.dims[1];
  out.cols = images.dims[2];
  out.images = std::move(images.data);
  out.labels = std::move(labels.data);
  return out;
}

absl::StatusOr<LabelledImages> ReadFashionMnist(const std::string& dir,
                                                const std::string& split) {
  if (split != "train" && split != "t10k") {
    return absl::InvalidArgumentError(
        absl::StrCat("fashion-mnist split must be 'train' or 't10k', not '", split, "'"));
  }
  return ReadIdxImagesAndLabels(absl::StrCat(dir, "/", split, "-images-idx3-ubyte.gz"),
                                absl::StrCat(dir, "/", split, "-labels-idx1-ubyte.gz"));
}

}  // namespace wave
