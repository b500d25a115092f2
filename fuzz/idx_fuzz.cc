// libFuzzer: the IDX parser.
#include <cstddef>
#include <cstdint>

#include "core/base/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto array = wave::ParseIdx(absl::string_view(reinterpret_cast<const char*>(data), size));
  if (array.ok() && !array->data.empty()) {
    volatile uint8_t sink = array->data.back();
    (void)sink;
  }
  return 0;
}
