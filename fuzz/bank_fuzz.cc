// libFuzzer: the template bank loader (safetensors, metadata JSON, checksum,
// shape validation).
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/bank/template_bank.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto bank = wave::ParseBank(std::string(reinterpret_cast<const char*>(data), size));
  (void)bank;
  return 0;
}
