// A tiny bank geometry and ancestry shared by the core tests.
#ifndef WAVE_TESTS_CORE_BANK_FIXTURE_H_
#define WAVE_TESTS_CORE_BANK_FIXTURE_H_

#include "core/learn/learn.h"
#include "core/model/vit.h"

namespace wave::testing {

inline BankGeometry TinyGeometry() {
  BankGeometry g;
  g.tile = 16;
  g.head_dim = 16;
  return g;
}

inline ViTConfig TinyConfig(int64_t depth = 2, int64_t width = 32) {
  ViTConfig c;
  c.depth = depth;
  c.width = width;
  c.heads = width / 16;
  return c;
}

// A bank made from a random ancestry by the SVD initialization alone.
inline TemplateBank TinyBank(int64_t n = 4, uint64_t seed = 1) {
  TemplateBank bank;
  bank.geometry = TinyGeometry();
  bank.ancestry = TinyConfig();
  TensorMap ancestry = DirectInit(bank.ancestry, seed);
  AuxiliaryModel aux;
  aux.config = bank.ancestry;
  SvdTemplates(ancestry, aux.config, bank.geometry, n, seed, &bank.templates, &aux.scalers);
  aux.head["head.weight"] = ancestry["head.weight"];
  aux.head["head.bias"] = ancestry["head.bias"];
  bank.auxiliaries.push_back(aux);
  bank.provenance["note"] = "test";
  return bank;
}

}  // namespace wave::testing

#endif  // WAVE_TESTS_CORE_BANK_FIXTURE_H_
