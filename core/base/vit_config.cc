#include "core/base/vit_config.h"

#include <algorithm>
#include <numeric>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"

namespace wave {
namespace {

using json = nlohmann::json;

absl::Status Invalid(absl::string_view field, absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", rule));
}

absl::Status CheckRange(const char* field, int64_t value, int64_t lo) {
  if (value < lo || value > kMaxDim) {
    return Invalid(field, absl::StrCat("must be in [", lo, ", ", kMaxDim, "], got ", value));
  }
  return absl::OkStatus();
}

absl::StatusOr<json> ParseObject(const std::string& text, const char* what) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " metadata is not a JSON object"));
  }
  return j;
}

template <typename T>
absl::Status ReadField(const json& j, const char* key, const char* what, T* out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " metadata lacks numeric field '", key, "'"));
  }
  *out = it->get<T>();
  return absl::OkStatus();
}

}  // namespace

int64_t ViTConfig::ParamCount() const {
  const int64_t d = width, m = mlp_hidden();
  const int64_t block = 4 * d /*norms*/ + 3 * d * d + 3 * d + d * d + d + m * d + m + d * m + d;
  const int64_t stem = d /*cls*/ + tokens() * d + d * channels * patch * patch + d;
  return depth * block + stem + 2 * d /*final norm*/ + classes * d + classes;
}

std::string ViTConfig::ShortName() const {
  return absl::StrCat(depth, "x", width, "h", heads);
}

bool ViTConfig::operator==(const ViTConfig& o) const {
  return depth == o.depth && width == o.width && heads == o.heads && mlp_ratio == o.mlp_ratio &&
         patch == o.patch && channels == o.channels && image_size == o.image_size &&
         classes == o.classes;
}

absl::Status ValidateConfig(const ViTConfig& c) {
  if (auto s = CheckRange("depth", c.depth, 1); !s.ok()) return s;
  if (auto s = CheckRange("width", c.width, 1); !s.ok()) return s;
  if (auto s = CheckRange("heads", c.heads, 1); !s.ok()) return s;
  if (auto s = CheckRange("mlp_ratio", c.mlp_ratio, 1); !s.ok()) return s;
  if (auto s = CheckRange("patch", c.patch, 1); !s.ok()) return s;
  if (auto s = CheckRange("channels", c.channels, 1); !s.ok()) return s;
  if (auto s = CheckRange("image_size", c.image_size, 1); !s.ok()) return s;
  if (auto s = CheckRange("classes", c.classes, 1); !s.ok()) return s;
  if (c.width % c.heads != 0) {
    return Invalid("heads", absl::StrCat("must divide width ", c.width, ", got ", c.heads));
  }
  if (c.image_size % c.patch != 0) {
    return Invalid("patch", absl::StrCat("must divide image_size ", c.image_size, ", got ",
                                         c.patch));
  }
  return absl::OkStatus();
}

int64_t BankGeometry::width_step() const { return std::lcm(tile, head_dim); }

bool BankGeometry::operator==(const BankGeometry& o) const {
  return image_size == o.image_size && patch == o.patch && channels == o.channels &&
         tile == o.tile && head_dim == o.head_dim && mlp_ratio == o.mlp_ratio &&
         mean == o.mean && std == o.std;
}

absl::Status ValidateGeometry(const BankGeometry& g) {
  if (auto s = CheckRange("image_size", g.image_size, 1); !s.ok()) return s;
  if (auto s = CheckRange("patch", g.patch, 1); !s.ok()) return s;
  if (auto s = CheckRange("channels", g.channels, 1); !s.ok()) return s;
  if (auto s = CheckRange("tile", g.tile, 1); !s.ok()) return s;
  if (auto s = CheckRange("head_dim", g.head_dim, 1); !s.ok()) return s;
  if (auto s = CheckRange("mlp_ratio", g.mlp_ratio, 1); !s.ok()) return s;
  if (g.image_size % g.patch != 0) return Invalid("patch", "must divide image_size");
  if (g.channels != 1 && g.channels != 3) return Invalid("channels", "must be 1 or 3");
  if (static_cast<int64_t>(g.mean.size()) != g.channels ||
      static_cast<int64_t>(g.std.size()) != g.channels) {
    return Invalid("mean", "and std need one value per channel");
  }
  for (double s : g.std) {
    if (!(s > 0)) return Invalid("std", "must be positive");
  }
  return absl::OkStatus();
}

absl::Status ValidateTarget(const ViTConfig& c, const BankGeometry& g) {
  // The width rule first: a width off the grid is the root cause of most
  // other complaints (heads not dividing it, say).
  if (auto s = CheckRange("width", c.width, 1); !s.ok()) return s;
  if (g.width_step() > 0 && c.width % g.width_step() != 0) {
    return Invalid("width", absl::StrCat("must be a multiple of lcm(tile ", g.tile,
                                         ", head_dim ", g.head_dim, ") = ", g.width_step(),
                                         ", got ", c.width));
  }
  if (auto s = ValidateConfig(c); !s.ok()) return s;
  if (c.image_size != g.image_size) {
    return Invalid("image_size", absl::StrCat("the bank's templates fix it to ", g.image_size,
                                              ", got ", c.image_size));
  }
  if (c.patch != g.patch) {
    return Invalid("patch", absl::StrCat("the bank's templates fix it to ", g.patch, ", got ",
                                         c.patch));
  }
  if (c.channels != g.channels) {
    return Invalid("channels", absl::StrCat("the bank's templates fix it to ", g.channels,
                                            ", got ", c.channels));
  }
  if (c.mlp_ratio != g.mlp_ratio) {
    return Invalid("mlp_ratio", absl::StrCat("the bank fixes it to ", g.mlp_ratio, ", got ",
                                             c.mlp_ratio));
  }
  if (c.mlp_hidden() % g.tile != 0) {
    return Invalid("mlp_ratio", absl::StrCat("mlp hidden ", c.mlp_hidden(),
                                             " must be a multiple of tile ", g.tile));
  }
  if (c.heads * g.head_dim != c.width) {
    return Invalid("heads", absl::StrCat("must be width / head_dim = ", c.width / g.head_dim,
                                         " for this bank, got ", c.heads));
  }
  return absl::OkStatus();
}

absl::StatusOr<ViTConfig> CompleteTarget(ViTConfig c, const BankGeometry& g) {
  if (c.heads == 0 && g.head_dim > 0 && c.width > 0) c.heads = c.width / g.head_dim;
  if (c.heads == 0) c.heads = 1;  // let validation report width
  if (c.mlp_ratio == 0) c.mlp_ratio = g.mlp_ratio;
  if (c.patch == 0) c.patch = g.patch;
  if (c.channels == 0) c.channels = g.channels;
  if (c.image_size == 0) c.image_size = g.image_size;
  if (auto s = ValidateTarget(c, g); !s.ok()) return s;
  return c;
}

absl::StatusOr<ViTConfig> MakeTarget(int64_t depth, int64_t width, int64_t heads,
                                     int64_t classes, const BankGeometry& g) {
  ViTConfig c;
  c.depth = depth;
  c.width = width;
  c.heads = heads;
  c.classes = classes;
  c.mlp_ratio = c.patch = c.channels = c.image_size = 0;
  return CompleteTarget(c, g);
}

absl::StatusOr<ViTConfig> ParseTargetSize(absl::string_view text, int64_t classes,
                                          const BankGeometry& g) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, 'x');
  int64_t depth = 0, width = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &depth) ||
      !absl::SimpleAtoi(parts[1], &width)) {
    return absl::InvalidArgumentError(absl::StrCat("size '", text, "' is not DEPTHxWIDTH"));
  }
  return MakeTarget(depth, width, 0, classes, g);
}

std::string ConfigToJson(const ViTConfig& c) {
  return json{{"depth", c.depth},         {"width", c.width},   {"heads", c.heads},
              {"mlp_ratio", c.mlp_ratio}, {"patch", c.patch},   {"channels", c.channels},
              {"image_size", c.image_size}, {"classes", c.classes}}
      .dump();
}

absl::StatusOr<ViTConfig> ConfigFromJson(const std::string& text) {
  auto j = ParseObject(text, "config");
  if (!j.ok()) return j.status();
  ViTConfig c;
  const char* what = "config";
  for (auto [key, field] : {std::pair{"depth", &c.depth}, {"width", &c.width},
                            {"heads", &c.heads}, {"mlp_ratio", &c.mlp_ratio},
                            {"patch", &c.patch}, {"channels", &c.channels},
                            {"image_size", &c.image_size}, {"classes", &c.classes}}) {
    if (auto s = ReadField(*j, key, what, field); !s.ok()) return s;
  }
  if (auto s = ValidateConfig(c); !s.ok()) return s;
  return c;
}

// A per-channel list, or one number for every channel (banks written before
// geometry had one value per channel).
absl::Status ReadChannelValues(const json& j, const char* key, int64_t channels,
                               std::vector<double>* out) {
  auto it = j.find(key);
  if (it == j.end()) return absl::InvalidArgumentError(absl::StrCat("geometry: missing '", key, "'"));
  if (it->is_number()) {
    out->assign(std::max<int64_t>(channels, 1), it->get<double>());
    return absl::OkStatus();
  }
  if (!it->is_array()) {
    return absl::InvalidArgumentError(absl::StrCat("geometry: '", key, "' must be a list of numbers"));
  }
  out->clear();
  for (const auto& v : *it) {
    if (!v.is_number()) {
      return absl::InvalidArgumentError(absl::StrCat("geometry: '", key, "' must be a list of numbers"));
    }
    out->push_back(v.get<double>());
  }
  return absl::OkStatus();
}

std::string GeometryToJson(const BankGeometry& g) {
  return json{{"image_size", g.image_size}, {"patch", g.patch}, {"channels", g.channels},
              {"tile", g.tile}, {"head_dim", g.head_dim}, {"mlp_ratio", g.mlp_ratio},
              {"mean", g.mean}, {"std", g.std}}
      .dump();
}

absl::StatusOr<BankGeometry> GeometryFromJson(const std::string& text) {
  auto j = ParseObject(text, "geometry");
  if (!j.ok()) return j.status();
  BankGeometry g;
  const char* what = "geometry";
  for (auto [key, field] : {std::pair{"image_size", &g.image_size}, {"patch", &g.patch},
                            {"channels", &g.channels}, {"tile", &g.tile},
                            {"head_dim", &g.head_dim}, {"mlp_ratio", &g.mlp_ratio}}) {
    if (auto s = ReadField(*j, key, what, field); !s.ok()) return s;
  }
  if (auto s = ReadChannelValues(*j, "mean", g.channels, &g.mean); !s.ok()) return s;
  if (auto s = ReadChannelValues(*j, "std", g.channels, &g.std); !s.ok()) return s;
  if (auto s = ValidateGeometry(g); !s.ok()) return s;
  return g;
}

std::string TimmArgsJson(const ViTConfig& c) {
  return json{{"img_size", c.image_size}, {"patch_size", c.patch}, {"in_chans", c.channels},
              {"num_classes", c.classes}, {"embed_dim", c.width}, {"depth", c.depth},
              {"num_heads", c.heads}, {"mlp_ratio", static_cast<double>(c.mlp_ratio)},
              {"qkv_bias", true}, {"class_token", true}, {"global_pool", "token"}}
      .dump();
}

}  // namespace wave
