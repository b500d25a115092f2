#include "core/data/npy.h"

#include <zip.h>

#include <cstring>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/base/status_macros.h"

namespace wave {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicBytes = 6;

absl::Status Malformed(const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("not a readable .npy array: ", what));
}

struct TypeInfo {
  const char* code;  // without the byte-order character
  NpyType type;
  int64_t bytes;
};
constexpr TypeInfo kTypes[] = {
    {"u1", NpyType::kU8, 1},  {"i1", NpyType::kI8, 1},  {"i2", NpyType::kI16, 2},
    {"u2", NpyType::kU16, 2}, {"i4", NpyType::kI32, 4}, {"u4", NpyType::kU32, 4},
    {"i8", NpyType::kI64, 8}, {"u8", NpyType::kU64, 8}, {"f4", NpyType::kF32, 4},
    {"f8", NpyType::kF64, 8},
};

// The value of `key` in the header's Python dict literal, as text.
absl::StatusOr<std::string> HeaderValue(absl::string_view header, absl::string_view key) {
  const std::string quoted = absl::StrCat("'", key, "'");
  size_t at = header.find(quoted);
  if (at == absl::string_view::npos) return Malformed(absl::StrCat("header lacks ", quoted));
  at = header.find(':', at + quoted.size());
  if (at == absl::string_view::npos) return Malformed(absl::StrCat("no value for ", quoted));
  absl::string_view rest = absl::StripLeadingAsciiWhitespace(header.substr(at + 1));
  size_t end;
  if (!rest.empty() && rest[0] == '(') {
    end = rest.find(')');
    if (end == absl::string_view::npos) return Malformed("unterminated shape");
    return std::string(rest.substr(0, end + 1));
  }
  end = rest.find_first_of(",}");
  return std::string(absl::StripTrailingAsciiWhitespace(rest.substr(0, end)));
}

}  // namespace

int64_t NpyArray::element_bytes() const {
  for (const auto& t : kTypes) {
    if (t.type == type) return t.bytes;
  }
  return 1;
}

int64_t NpyArray::elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

bool IsInteger(NpyType type) { return type != NpyType::kF32 && type != NpyType::kF64; }

absl::StatusOr<NpyArray> ParseNpy(absl::string_view bytes, int64_t max_bytes) {
  if (bytes.size() < kMagicBytes + 4 || std::memcmp(bytes.data(), kMagic, kMagicBytes) != 0) {
    return Malformed("it does not start with NumPy's magic string");
  }
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  const int major = p[6];
  size_t header_len, offset;
  if (major == 1) {
    header_len = p[8] | (p[9] << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return Malformed("it ends inside its header length");
    header_len = p[8] | (p[9] << 8) | (p[10] << 16) | (static_cast<size_t>(p[11]) << 24);
    offset = 12;
  } else {
    return Malformed(absl::StrCat("format version ", major, " is not 1, 2 or 3"));
  }
  if (bytes.size() < offset + header_len) return Malformed("it ends inside its header");
  const absl::string_view header = bytes.substr(offset, header_len);
  NpyArray array;
  ASSIGN_OR_RETURN(std::string descr, HeaderValue(header, "descr"));
  ASSIGN_OR_RETURN(std::string fortran, HeaderValue(header, "fortran_order"));
  ASSIGN_OR_RETURN(std::string shape, HeaderValue(header, "shape"));
  descr = std::string(absl::StripSuffix(absl::StripPrefix(descr, "'"), "'"));
  array.descr = descr;
  if (fortran != "False") {
    return absl::InvalidArgumentError("a Fortran-order .npy array is not supported; save it "
                                      "with np.ascontiguousarray first");
  }
  if (descr.size() != 3 || (descr[0] != '<' && descr[0] != '|')) {
    return absl::InvalidArgumentError(absl::StrCat(
        ".npy dtype '", descr, "' is not supported (little-endian integers or float32/float64)"));
  }
  bool known = false;
  for (const auto& t : kTypes) {
    if (descr.substr(1) == t.code) {
      array.type = t.type;
      known = true;
    }
  }
  if (!known) {
    return absl::InvalidArgumentError(absl::StrCat(
        ".npy dtype '", descr, "' is not supported (integers, float32 or float64)"));
  }
  absl::string_view dims = absl::StripSuffix(absl::StripPrefix(shape, "("), ")");
  for (absl::string_view d : absl::StrSplit(dims, ',', absl::SkipWhitespace())) {
    int64_t v;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(d), &v) || v < 0 || v > (int64_t{1} << 40)) {
      return Malformed(absl::StrCat("shape ", shape, " is not a tuple of sizes"));
    }
    array.shape.push_back(v);
  }
  const size_t data_at = offset + header_len;
  const int64_t elements = array.elements();
  if (elements > max_bytes / array.element_bytes()) {
    return absl::ResourceExhaustedError(absl::StrCat(".npy array of shape ", shape,
                                                     " exceeds the limit of ", max_bytes,
                                                     " bytes"));
  }
  const size_t need = static_cast<size_t>(elements * array.element_bytes());
  if (bytes.size() - data_at != need) {
    return Malformed(absl::StrCat("shape ", shape, " of '", descr, "' needs ", need,
                                  " bytes but the file holds ", bytes.size() - data_at));
  }
  array.data.assign(bytes.data() + data_at, need);
  return array;
}

absl::StatusOr<std::map<std::string, NpyArray>> ReadNpz(const std::string& path,
                                                        int64_t max_bytes) {
  int error = 0;
  std::unique_ptr<zip_t, decltype(&zip_discard)> archive(
      zip_open(path.c_str(), ZIP_RDONLY, &error), &zip_discard);
  if (!archive) {
    zip_error_t e;
    zip_error_init_with_code(&e, error);
    std::string why = zip_error_strerror(&e);
    zip_error_fini(&e);
    return error == ZIP_ER_NOENT ? absl::NotFoundError(absl::StrCat(path, ": ", why))
                                 : absl::InvalidArgumentError(
                                       absl::StrCat(path, ": not a readable .npz (", why, ")"));
  }
  std::map<std::string, NpyArray> arrays;
  const zip_int64_t entries = zip_get_num_entries(archive.get(), 0);
  for (zip_int64_t i = 0; i < entries; ++i) {
    zip_stat_t st;
    if (zip_stat_index(archive.get(), i, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE)) continue;
    absl::string_view entry_name = st.name;
    if (!absl::ConsumeSuffix(&entry_name, ".npy")) continue;
    const std::string name(entry_name);
    if (st.size > static_cast<zip_uint64_t>(max_bytes)) {
      return absl::ResourceExhaustedError(
          absl::StrCat(path, ": array '", name, "' is ", st.size,
                       " bytes uncompressed, over the limit of ", max_bytes));
    }
    std::unique_ptr<zip_file_t, decltype(&zip_fclose)> file(zip_fopen_index(archive.get(), i, 0),
                                                           &zip_fclose);
    if (!file) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": cannot open array '", name,
                                                     "': ", zip_strerror(archive.get())));
    }
    std::string bytes(st.size, '\0');
    const zip_int64_t got = zip_fread(file.get(), bytes.data(), st.size);
    if (got < 0 || static_cast<zip_uint64_t>(got) != st.size) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": array '", name, "' is truncated or corrupt"));
    }
    auto array = ParseNpy(bytes, max_bytes);
    if (!array.ok()) {
      return absl::Status(array.status().code(),
                          absl::StrCat(path, ": array '", name, "': ", array.status().message()));
    }
    arrays[name] = std::move(*array);
  }
  return arrays;
}

int64_t NpyInt(const NpyArray& a, int64_t i) {
  const char* p = a.data.data() + i * a.element_bytes();
  switch (a.type) {
    case NpyType::kU8: return *reinterpret_cast<const uint8_t*>(p);
    case NpyType::kI8: return *reinterpret_cast<const int8_t*>(p);
    case NpyType::kI16: { int16_t v; std::memcpy(&v, p, 2); return v; }
    case NpyType::kU16: { uint16_t v; std::memcpy(&v, p, 2); return v; }
    case NpyType::kI32: { int32_t v; std::memcpy(&v, p, 4); return v; }
    case NpyType::kU32: { uint32_t v; std::memcpy(&v, p, 4); return v; }
    case NpyType::kI64: { int64_t v; std::memcpy(&v, p, 8); return v; }
    case NpyType::kU64: {
      uint64_t v;
      std::memcpy(&v, p, 8);
      return v > static_cast<uint64_t>(INT64_MAX) ? -1 : static_cast<int64_t>(v);
    }
    default: return static_cast<int64_t>(NpyFloat(a, i));
  }
}

double NpyFloat(const NpyArray& a, int64_t i) {
  const char* p = a.data.data() + i * a.element_bytes();
  if (a.type == NpyType::kF32) { float v; std::memcpy(&v, p, 4); return v; }
  if (a.type == NpyType::kF64) { double v; std::memcpy(&v, p, 8); return v; }
  return static_cast<double>(NpyInt(a, i));
}

}  // namespace wave
