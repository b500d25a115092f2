#include "core/bank/template_bank.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/base/file_util.h"
#include "core/base/kinds.h"
#include "core/base/sha256.h"
#include "core/base/status_macros.h"
#include "core/model/compose.h"
#include "nlohmann/json.hpp"

namespace wave {
namespace {

using json = nlohmann::json;



absl::Status Corrupt(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("template bank: ", what));
}

std::string ShapeString(const at::Tensor& t) {
  return absl::StrCat("[", absl::StrJoin(t.sizes().vec(), ", "), "]");
}

absl::StatusOr<std::string> MetadataField(const SafetensorsFile& file, const std::string& key) {
  auto it = file.metadata().find(key);
  if (it == file.metadata().end()) return Corrupt(absl::StrCat("metadata lacks '", key, "'"));
  return it->second;
}

}  // namespace

int64_t TemplateBank::NumTemplates(const std::string& kind) const {
  auto it = templates.find(kind);
  return it == templates.end() ? 0 : it->second.size(0);
}

int64_t TemplateBank::TemplateParamCount() const {
  int64_t n = 0;
  for (const auto& [kind, t] : templates) n += t.numel();
  return n;
}

absl::Status ValidateBank(const TemplateBank& bank) {
  RETURN_IF_ERROR(ValidateGeometry(bank.geometry));
  ViTConfig probe;
  probe.width = bank.geometry.width_step();
  probe.heads = probe.width / bank.geometry.head_dim;
  probe.patch = bank.geometry.patch;
  probe.channels = bank.geometry.channels;
  probe.image_size = bank.geometry.image_size;
  probe.mlp_ratio = bank.geometry.mlp_ratio;
  for (const auto& kind : TemplateKinds(probe, bank.geometry)) {
    auto it = bank.templates.find(kind.kind);
    if (it == bank.templates.end()) return Corrupt(absl::StrCat("no templates for '", kind.kind, "'"));
    const at::Tensor& t = it->second;
    if (t.dim() != 3 || t.size(0) < 1 || t.size(1) != kind.p || t.size(2) != kind.q ||
        t.scalar_type() != at::kFloat) {
      return Corrupt(absl::StrCat("templates of '", kind.kind, "' have shape ", ShapeString(t),
                                  ", expected float [N, ", kind.p, ", ", kind.q, "]"));
    }
    if (!at::isfinite(t).all().item<bool>()) {
      return Corrupt(absl::StrCat("templates of '", kind.kind, "' hold NaN or Inf"));
    }
  }
  if (bank.templates.size() != TemplateKinds(probe, bank.geometry).size()) {
    return Corrupt("holds templates of an unknown kind");
  }
  if (bank.auxiliaries.empty()) return Corrupt("no auxiliary model");
  for (size_t i = 0; i < bank.auxiliaries.size(); ++i) {
    const AuxiliaryModel& aux = bank.auxiliaries[i];
    RETURN_IF_ERROR(ValidateTarget(aux.config, bank.geometry));
    auto params = TemplatedParams(aux.config, bank.geometry);
    for (const auto& [name, shape] :
         {std::pair<std::string, std::vector<int64_t>>{"head.weight",
                                                       {aux.config.classes, aux.config.width}},
          {"head.bias", {aux.config.classes}}}) {
      auto it = aux.head.find(name);
      if (it == aux.head.end() || it->second.sizes().vec() != shape ||
          it->second.scalar_type() != at::kFloat) {
        return Corrupt(absl::StrCat("auxiliary ", i, " lacks a float '", name, "' of shape [",
                                    absl::StrJoin(shape, ", "), "]"));
      }
    }
    if (aux.scalers.size() != params.size()) {
      return Corrupt(absl::StrCat("auxiliary ", i, " has ", aux.scalers.size(),
                                  " scaler tensors, expected ", params.size()));
    }
    for (const auto& p : params) {
      auto it = aux.scalers.find(p.name);
      const int64_t n = bank.NumTemplates(p.kind);
      if (it == aux.scalers.end()) {
        return Corrupt(absl::StrCat("auxiliary ", i, " lacks scalers for '", p.name, "'"));
      }
      const at::Tensor& s = it->second;
      if (s.dim() != 3 || s.size(0) != n || s.size(1) != p.a || s.size(2) != p.b ||
          s.scalar_type() != at::kFloat) {
        return Corrupt(absl::StrCat("auxiliary ", i, " scalers '", p.name, "' have shape ",
                                    ShapeString(s), ", expected float [", n, ", ", p.a, ", ",
                                    p.b, "]"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status SaveBank(const TemplateBank& bank, const std::string& path) {
  RETURN_IF_ERROR(ValidateBank(bank));
  TensorMap all;
  for (const auto& [kind, t] : bank.templates) all[kTemplatePrefix + kind] = t;
  json aux_json = json::array();
  for (size_t i = 0; i < bank.auxiliaries.size(); ++i) {
    const auto& aux = bank.auxiliaries[i];
    for (const auto& [name, s] : aux.scalers) all[AuxiliaryPrefix(i) + name] = s;
    for (const auto& [name, h] : aux.head) all[AuxiliaryPrefix(i) + name] = h;
    aux_json.push_back({{"config", json::parse(ConfigToJson(aux.config))},
                        {"accuracy", aux.accuracy}});
  }
  // Checksum of the tensors, so a flipped byte is caught on load.
  Sha256 hash;
  for (const auto& [name, t] : all) {
    at::Tensor c = t.detach().contiguous();
    hash.Update(name);
    hash.Update(absl::string_view(static_cast<const char*>(c.data_ptr()), c.nbytes()));
  }
  json provenance(bank.provenance);
  std::map<std::string, std::string> metadata = {
      {"format", kBankFormat},
      {"name", bank.name},
      {"version", bank.version},
      {"geometry", GeometryToJson(bank.geometry)},
      {"ancestry", ConfigToJson(bank.ancestry)},
      {"auxiliaries", aux_json.dump()},
      {"provenance", provenance.dump()},
      {"tensors_sha256", hash.HexDigest()},
  };
  return WriteTensors(path, all, metadata);
}

absl::StatusOr<TemplateBank> ParseBank(std::string bytes) {
  const std::string file_sha = Sha256Hex(bytes);
  ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::Parse(std::move(bytes)));
  ASSIGN_OR_RETURN(std::string format, MetadataField(file, "format"));
  if (format != kBankFormat) {
    return Corrupt(absl::StrCat("format '", format, "' is not '", kBankFormat, "'"));
  }
  TemplateBank bank;
  bank.file_sha256 = file_sha;
  ASSIGN_OR_RETURN(bank.name, MetadataField(file, "name"));
  ASSIGN_OR_RETURN(bank.version, MetadataField(file, "version"));
  ASSIGN_OR_RETURN(std::string geometry, MetadataField(file, "geometry"));
  ASSIGN_OR_RETURN(bank.geometry, GeometryFromJson(geometry));
  ASSIGN_OR_RETURN(std::string ancestry, MetadataField(file, "ancestry"));
  ASSIGN_OR_RETURN(bank.ancestry, ConfigFromJson(ancestry));
  ASSIGN_OR_RETURN(std::string aux_text, MetadataField(file, "auxiliaries"));
  json aux_json = json::parse(aux_text, nullptr, false);
  if (!aux_json.is_array() || aux_json.empty() || aux_json.size() > 64) {
    return Corrupt("'auxiliaries' metadata is not a list of 1 to 64 entries");
  }
  for (const auto& entry : aux_json) {
    if (!entry.is_object() || !entry.contains("config") || !entry["config"].is_object()) {
      return Corrupt("an auxiliary entry lacks its config");
    }
    AuxiliaryModel aux;
    ASSIGN_OR_RETURN(aux.config, ConfigFromJson(entry["config"].dump()));
    if (entry.contains("accuracy") && entry["accuracy"].is_number()) {
      aux.accuracy = entry["accuracy"].get<double>();
    }
    bank.auxiliaries.push_back(std::move(aux));
  }
  ASSIGN_OR_RETURN(std::string provenance, MetadataField(file, "provenance"));
  json prov = json::parse(provenance, nullptr, false);
  if (!prov.is_object()) return Corrupt("'provenance' metadata is not an object");
  for (auto it = prov.begin(); it != prov.end(); ++it) {
    bank.provenance[it.key()] = it.value().is_string() ? it.value().get<std::string>()
                                                       : it.value().dump();
  }
  ASSIGN_OR_RETURN(std::string expected_sha, MetadataField(file, "tensors_sha256"));
  Sha256 hash;
  std::vector<std::string> names = file.names();
  std::sort(names.begin(), names.end());  // SaveBank hashes in name order
  for (const auto& name : names) {
    ASSIGN_OR_RETURN(TensorView view, file.Get(name));
    hash.Update(name);
    hash.Update(absl::string_view(reinterpret_cast<const char*>(view.data), view.size_bytes));
    ASSIGN_OR_RETURN(at::Tensor t, ToTensor(view));
    if (absl::StartsWith(name, kTemplatePrefix)) {
      bank.templates[name.substr(sizeof(kTemplatePrefix) - 1)] = t;
      continue;
    }
    bool placed = false;
    for (size_t i = 0; i < bank.auxiliaries.size() && !placed; ++i) {
      const std::string prefix = AuxiliaryPrefix(i);
      if (absl::StartsWith(name, prefix)) {
        const std::string param = name.substr(prefix.size());
        auto& dest = absl::StartsWith(param, "head.") ? bank.auxiliaries[i].head
                                                      : bank.auxiliaries[i].scalers;
        dest[param] = t;
        placed = true;
      }
    }
    if (!placed) return Corrupt(absl::StrCat("unexpected tensor '", name, "'"));
  }
  if (hash.HexDigest() != expected_sha) {
    return absl::DataLossError("template bank: tensor checksum mismatch (file corrupted)");
  }
  RETURN_IF_ERROR(ValidateBank(bank));
  return bank;
}

absl::StatusOr<TemplateBank> LoadBank(const std::string& path) {
  ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path));
  auto bank = ParseBank(std::move(bytes));
  if (!bank.ok()) {
    return absl::Status(bank.status().code(), absl::StrCat(path, ": ", bank.status().message()));
  }
  return bank;
}

TensorMap ComposeWeights(const TensorMap& templates, const TensorMap& scalers,
                         const ViTConfig& config, const BankGeometry& geometry) {
  TensorMap out;
  for (const auto& p : TemplatedParams(config, geometry)) {
    out[p.name] = KroneckerSum(scalers.at(p.name), templates.at(p.kind)).view(p.shape);
  }
  return out;
}

bool IsAfterBlock(const TemplatedParam& param, int64_t first_block) {
  return param.layer >= first_block || param.name == "norm.weight" || param.name == "norm.bias";
}

TensorMap ComposeAfterBlock(const TensorMap& templates, const TensorMap& scalers,
                            const ViTConfig& config, const BankGeometry& geometry,
                            int64_t first_block) {
  TensorMap out;
  for (const auto& p : TemplatedParams(config, geometry)) {
    if (!IsAfterBlock(p, first_block)) continue;
    out[p.name] = KroneckerSum(scalers.at(p.name), templates.at(p.kind)).view(p.shape);
  }
  return out;
}

int64_t ScalerCount(const ViTConfig& config, const BankGeometry& geometry,
                    const TemplateBank& bank) {
  int64_t n = 0;
  for (const auto& p : TemplatedParams(config, geometry)) {
    n += bank.NumTemplates(p.kind) * p.a * p.b;
  }
  return n;
}

std::string AuxiliaryPrefix(size_t index) { return absl::StrCat("aux.", index, "."); }

std::vector<std::string> BankClassNames(const TemplateBank& bank) {
  std::vector<std::string> names;
  if (auto it = bank.provenance.find("class_names"); it != bank.provenance.end()) {
    auto j = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
    if (j.is_array()) {
      for (const auto& v : j) {
        if (v.is_string()) names.push_back(v.get<std::string>());
      }
      if (static_cast<int64_t>(names.size()) == bank.ancestry.classes) return names;
    }
  }
  names.clear();
  for (int64_t c = 0; c < bank.ancestry.classes; ++c) names.push_back(absl::StrCat(c));
  return names;
}

}  // namespace wave
