#include "core/base/safetensors.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/base/file_util.h"
#include "core/base/sha256.h"
#include "core/base/status_macros.h"
#include "nlohmann/json.hpp"

namespace wave {
namespace {

using json = nlohmann::json;

struct DTypeInfo {
  DType dtype;
  const char* name;
  size_t size;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::kF32, "F32", 4}, {DType::kF16, "F16", 2}, {DType::kBF16, "BF16", 2},
    {DType::kF64, "F64", 8}, {DType::kI64, "I64", 8}, {DType::kI32, "I32", 4},
    {DType::kU8, "U8", 1},   {DType::kI8, "I8", 1},   {DType::kBool, "BOOL", 1},
};

const DTypeInfo& Info(DType dtype) {
  for (const auto& info : kDTypes) {
    if (info.dtype == dtype) return info;
  }
  return kDTypes[0];
}

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("safetensors: ", what));
}

// Multiplies non-negative factors, failing on overflow past `limit`.
bool CheckedProduct(const std::vector<int64_t>& dims, uint64_t limit, uint64_t* out) {
  uint64_t product = 1;
  for (int64_t d : dims) {
    if (d < 0) return false;
    if (d != 0 && product > limit / static_cast<uint64_t>(d)) return false;
    product *= static_cast<uint64_t>(d);
  }
  *out = product;
  return true;
}

absl::StatusOr<std::vector<int64_t>> ParseIntArray(const json& value,
                                                   const std::string& tensor,
                                                   const char* field) {
  if (!value.is_array()) {
    return Malformed(absl::StrCat("tensor '", tensor, "': '", field, "' is not an array"));
  }
  std::vector<int64_t> out;
  for (const auto& item : value) {
    if (!item.is_number_unsigned() && !(item.is_number_integer() && item.get<int64_t>() >= 0)) {
      return Malformed(absl::StrCat("tensor '", tensor, "': '", field,
                                    "' holds something other than a non-negative integer"));
    }
    uint64_t v = item.get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Malformed(absl::StrCat("tensor '", tensor, "': '", field, "' value too large"));
    }
    out.push_back(static_cast<int64_t>(v));
  }
  return out;
}

// Parses the header JSON, rejecting duplicate top-level names (nlohmann keeps
// the last silently).
absl::StatusOr<json> ParseHeaderJson(absl::string_view text) {
  std::set<std::string> seen;
  std::string duplicate;
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key) {
      const std::string& key = parsed.get_ref<const std::string&>();
      if (!seen.insert(key).second && duplicate.empty()) duplicate = key;
    }
    return true;
  };
  json header = json::parse(text.begin(), text.end(), callback,
                            /*allow_exceptions=*/false);
  if (header.is_discarded()) return Malformed("header is not valid JSON");
  if (!duplicate.empty()) {
    return Malformed(absl::StrCat("duplicate tensor name '", duplicate, "'"));
  }
  if (!header.is_object()) return Malformed("header is not a JSON object");
  return header;
}

}  // namespace

absl::string_view DTypeName(DType dtype) { return Info(dtype).name; }
size_t DTypeSize(DType dtype) { return Info(dtype).size; }

absl::StatusOr<DType> ParseDType(absl::string_view name) {
  for (const auto& info : kDTypes) {
    if (name == info.name) return info.dtype;
  }
  return Malformed(absl::StrCat("unsupported dtype '", name, "'"));
}

int64_t TensorView::NumElements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

namespace {

// The JSON header's text, after checking the 8-byte little-endian length
// that precedes it.
absl::StatusOr<absl::string_view> HeaderText(const std::string& bytes) {
  if (bytes.size() < 8) {
    return Malformed(absl::StrCat("file is ", bytes.size(),
                                  " bytes, shorter than the 8-byte header length"));
  }
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) {
    header_len = (header_len << 8) | static_cast<uint8_t>(bytes[i]);
  }
  if (header_len > kMaxHeaderBytes) {
    return Malformed(absl::StrCat("header length ", header_len, " exceeds the limit of ",
                                  kMaxHeaderBytes, " bytes"));
  }
  if (header_len > bytes.size() - 8) {
    return Malformed(absl::StrCat("header length ", header_len, " runs past the end of the ",
                                  bytes.size(), "-byte file"));
  }
  absl::string_view text(bytes.data() + 8, header_len);
  if (text.empty() || text.front() != '{') return Malformed("header does not start with '{'");
  return text;
}

absl::Status ParseMetadata(const json& value, std::map<std::string, std::string>* metadata) {
  if (!value.is_object()) return Malformed("__metadata__ is not an object");
  for (auto m = value.begin(); m != value.end(); ++m) {
    if (!m.value().is_string()) {
      return Malformed(absl::StrCat("__metadata__ value for '", m.key(), "' is not a string"));
    }
    (*metadata)[m.key()] = m.value().get<std::string>();
  }
  return absl::OkStatus();
}

// One tensor's entry: its dtype, shape and byte range, checked against
// each other and the buffer.
struct ParsedEntry {
  TensorView view;
  uint64_t begin = 0, end = 0;
};

absl::StatusOr<ParsedEntry> ParseEntry(const std::string& name, const json& entry,
                                       uint64_t buffer_size) {
  if (!entry.is_object()) return Malformed(absl::StrCat("tensor '", name, "' is not an object"));
  auto dtype_it = entry.find("dtype");
  auto shape_it = entry.find("shape");
  auto offsets_it = entry.find("data_offsets");
  if (dtype_it == entry.end() || shape_it == entry.end() || offsets_it == entry.end()) {
    return Malformed(
        absl::StrCat("tensor '", name, "' lacks one of 'dtype', 'shape', 'data_offsets'"));
  }
  if (!dtype_it->is_string()) {
    return Malformed(absl::StrCat("tensor '", name, "': 'dtype' is not a string"));
  }
  ParsedEntry parsed;
  ASSIGN_OR_RETURN(parsed.view.dtype, ParseDType(dtype_it->get<std::string>()));
  ASSIGN_OR_RETURN(parsed.view.shape, ParseIntArray(*shape_it, name, "shape"));
  ASSIGN_OR_RETURN(std::vector<int64_t> offsets, ParseIntArray(*offsets_it, name, "data_offsets"));
  if (offsets.size() != 2) {
    return Malformed(absl::StrCat("tensor '", name, "': 'data_offsets' must hold 2 numbers"));
  }
  parsed.begin = offsets[0];
  parsed.end = offsets[1];
  if (parsed.begin > parsed.end || parsed.end > buffer_size) {
    return Malformed(absl::StrCat("tensor '", name, "': data_offsets [", parsed.begin, ", ",
                                  parsed.end, "] out of range of the ", buffer_size,
                                  "-byte buffer"));
  }
  uint64_t numel = 0;
  if (!CheckedProduct(parsed.view.shape, buffer_size, &numel) ||
      numel * DTypeSize(parsed.view.dtype) != parsed.end - parsed.begin) {
    return Malformed(absl::StrCat("tensor '", name, "': shape and dtype need ",
                                  "a different byte count than data_offsets give (",
                                  parsed.end - parsed.begin, " bytes)"));
  }
  parsed.view.size_bytes = parsed.end - parsed.begin;
  return parsed;
}

struct Span {
  uint64_t begin, end;
  std::string name;
};

// The tensors must tile the buffer exactly: no overlap, no hole, nothing
// after the last. Returns their names in file order.
absl::StatusOr<std::vector<std::string>> CheckTiling(std::vector<Span> spans,
                                                     uint64_t buffer_size) {
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::vector<std::string> names;
  uint64_t expected = 0;
  for (const Span& span : spans) {
    if (span.begin < expected) {
      return Malformed(absl::StrCat("tensor '", span.name, "' overlaps the tensor before it"));
    }
    if (span.begin > expected) {
      return Malformed(absl::StrCat("hole in the byte buffer before tensor '", span.name, "'"));
    }
    expected = span.end;
    names.push_back(span.name);
  }
  if (expected != buffer_size) {
    return Malformed(absl::StrCat("byte buffer holds ", buffer_size - expected,
                                  " bytes after the last tensor"));
  }
  return names;
}

}  // namespace

absl::StatusOr<SafetensorsFile> SafetensorsFile::Parse(std::string bytes) {
  ASSIGN_OR_RETURN(absl::string_view header_text, HeaderText(bytes));
  ASSIGN_OR_RETURN(json header, ParseHeaderJson(header_text));
  const uint64_t data_start = 8 + header_text.size();
  const uint64_t buffer_size = bytes.size() - data_start;
  SafetensorsFile file;
  std::vector<Span> spans;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      RETURN_IF_ERROR(ParseMetadata(it.value(), &file.metadata_));
      continue;
    }
    ASSIGN_OR_RETURN(ParsedEntry entry, ParseEntry(it.key(), it.value(), buffer_size));
    file.tensors_[it.key()] = {entry.view, data_start + entry.begin};
    spans.push_back({entry.begin, entry.end, it.key()});
  }
  ASSIGN_OR_RETURN(file.names_, CheckTiling(std::move(spans), buffer_size));
  file.bytes_ = std::move(bytes);
  return file;
}

absl::StatusOr<SafetensorsFile> SafetensorsFile::ReadFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path));
  auto file = Parse(std::move(bytes));
  if (!file.ok()) {
    return absl::Status(file.status().code(),
                        absl::StrCat(path, ": ", file.status().message()));
  }
  return file;
}

absl::StatusOr<TensorView> SafetensorsFile::Get(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    return absl::NotFoundError(absl::StrCat("safetensors: no tensor named '", name, "'"));
  }
  // Views are made on demand from offsets, so moving or copying the file
  // never leaves one dangling.
  TensorView view = it->second.view;
  view.data = reinterpret_cast<const uint8_t*>(bytes_.data()) + it->second.offset;
  return view;
}

absl::Status SafetensorsWriter::Add(const std::string& name, DType dtype,
                                    std::vector<int64_t> shape, const void* data,
                                    size_t size_bytes) {
  if (name.empty() || name == "__metadata__") {
    return absl::InvalidArgumentError(absl::StrCat("safetensors: bad tensor name '", name, "'"));
  }
  for (const auto& e : entries_) {
    if (e.name == name) {
      return absl::AlreadyExistsError(absl::StrCat("safetensors: duplicate tensor '", name, "'"));
    }
  }
  uint64_t numel = 0;
  if (!CheckedProduct(shape, std::numeric_limits<uint64_t>::max() / 8, &numel) ||
      numel * DTypeSize(dtype) != size_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("safetensors: tensor '", name, "' has ", size_bytes,
                     " bytes, which its shape and dtype do not match"));
  }
  entries_.push_back({name, dtype, std::move(shape),
                      static_cast<const uint8_t*>(data), size_bytes});
  return absl::OkStatus();
}

std::string SafetensorsWriter::HeaderBytes() const {
  json header = json::object();
  if (!metadata_.empty()) {
    json meta = json::object();
    for (const auto& [k, v] : metadata_) meta[k] = v;
    header["__metadata__"] = meta;
  }
  uint64_t offset = 0;
  for (const auto& e : entries_) {
    header[e.name] = {{"dtype", std::string(DTypeName(e.dtype))},
                      {"shape", e.shape},
                      {"data_offsets", {offset, offset + e.size_bytes}}};
    offset += e.size_bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  uint64_t len = text.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  return out + text;
}

uint64_t SafetensorsWriter::TotalBytes() const {
  uint64_t total = HeaderBytes().size();
  for (const auto& e : entries_) total += e.size_bytes;
  return total;
}

SafetensorsWriter::Cursor::Cursor(const SafetensorsWriter& writer)
    : writer_(writer), header_(writer.HeaderBytes()), total_(header_.size()) {
  for (const auto& e : writer.entries_) total_ += e.size_bytes;
}

void SafetensorsWriter::Cursor::Next(size_t max_bytes, std::string* out) {
  Visit(max_bytes, [out](absl::string_view piece) { out->append(piece.data(), piece.size()); });
}

void SafetensorsWriter::Cursor::Visit(size_t max_bytes,
                                      const std::function<void(absl::string_view)>& piece) {
  size_t want = static_cast<size_t>(std::min<uint64_t>(max_bytes, total_ - offset_));
  if (offset_ < header_.size()) {
    const size_t take = std::min<size_t>(want, header_.size() - offset_);
    piece(absl::string_view(header_).substr(offset_, take));
    offset_ += take;
    want -= take;
  }
  while (want > 0) {
    const Entry& e = writer_.entries_[entry_];  // empty tensors take 0 and pass
    const size_t take = std::min(want, e.size_bytes - entry_offset_);
    piece(absl::string_view(reinterpret_cast<const char*>(e.data) + entry_offset_, take));
    offset_ += take;
    want -= take;
    entry_offset_ += take;
    if (entry_offset_ == e.size_bytes) {
      ++entry_;
      entry_offset_ = 0;
    }
  }
}

std::string SafetensorsWriter::Sha256Hex() const {
  Sha256 hash;
  Cursor cursor(*this);
  cursor.Visit(cursor.total_bytes(), [&hash](absl::string_view piece) { hash.Update(piece); });
  return hash.HexDigest();
}

absl::Status SafetensorsWriter::Stream(
    size_t chunk_bytes, const std::function<absl::Status(absl::string_view)>& sink) const {
  if (chunk_bytes == 0) return absl::InvalidArgumentError("safetensors: chunk size 0");
  Cursor cursor(*this);
  std::string chunk;
  chunk.reserve(std::min<uint64_t>(chunk_bytes, cursor.total_bytes()));
  while (!cursor.done()) {
    chunk.clear();
    cursor.Next(chunk_bytes, &chunk);
    RETURN_IF_ERROR(sink(chunk));
  }
  return absl::OkStatus();
}

std::string SafetensorsWriter::Serialize() const {
  std::string out;
  out.reserve(TotalBytes());
  (void)Stream(1 << 20, [&](absl::string_view piece) {
    out.append(piece.data(), piece.size());
    return absl::OkStatus();
  });
  return out;
}

absl::Status SafetensorsWriter::WriteFile(const std::string& path) const {
  return WriteFileAtomically(path, [&](std::ostream& out) -> absl::Status {
    return Stream(4 << 20, [&](absl::string_view piece) {
      out.write(piece.data(), piece.size());
      return out ? absl::OkStatus() : absl::DataLossError("write failed");
    });
  });
}

}  // namespace wave
