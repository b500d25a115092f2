// libFuzzer: request validation. The input is split into serialized
// InitializeRequest messages (2-byte little-endian length prefixes), fed to
// the RequestBuilder against a small in-memory bank.
#include <cstddef>
#include <cstdint>
#include <cstdio>

#include "core/learn/learn.h"
#include "core/model/vit.h"
#include "server/request_builder.h"

namespace {

wave::BankRegistry* MakeRegistry() {
  wave::TemplateBank bank;
  bank.ancestry.depth = 2;
  bank.ancestry.width = 64;
  bank.ancestry.heads = 2;
  wave::TensorMap ancestry = wave::DirectInit(bank.ancestry, 1);
  wave::AuxiliaryModel aux;
  aux.config = bank.ancestry;
  wave::SvdTemplates(ancestry, aux.config, bank.geometry, 2, 1, &bank.templates, &aux.scalers);
  aux.head = {{"head.weight", ancestry["head.weight"]}, {"head.bias", ancestry["head.bias"]}};
  bank.auxiliaries.push_back(aux);
  const std::string path = "/tmp/wave_request_fuzz_bank.safetensors";
  if (!wave::SaveBank(bank, path).ok()) std::abort();
  auto* registry = new wave::BankRegistry;
  if (!registry->Load(path).ok()) std::abort();
  return registry;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static wave::BankRegistry* registry = MakeRegistry();
  wave::Limits limits;
  limits.max_samples = 64;  // keep allocations small under the fuzzer
  limits.max_sample_bytes = 1 << 20;
  wave::RequestBuilder builder(limits, *registry);
  size_t pos = 0;
  while (pos + 2 <= size) {
    size_t len = data[pos] | (size_t{data[pos + 1]} << 8);
    pos += 2;
    len = std::min(len, size - pos);
    wave::v1::InitializeRequest message;
    if (message.ParseFromArray(data + pos, static_cast<int>(len))) {
      if (!builder.Add(message).ok()) return 0;
    }
    pos += len;
  }
  (void)builder.Finish();
  return 0;
}
