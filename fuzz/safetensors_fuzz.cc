// libFuzzer: the safetensors reader must reject or accept, never crash or
// read out of bounds.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/base/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto file = wave::SafetensorsFile::Parse(std::string(reinterpret_cast<const char*>(data), size));
  if (file.ok()) {
    for (const auto& name : file->names()) {
      auto view = file->Get(name);
      if (view.ok() && view->size_bytes > 0) {
        volatile uint8_t sink = view->data[0] ^ view->data[view->size_bytes - 1];
        (void)sink;
      }
    }
  }
  return 0;
}
