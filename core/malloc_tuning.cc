#include "core/malloc_tuning.h"

#include <cstdlib>  // any C library header defines __GLIBC__ under glibc

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace wave {

void KeepLargeAllocationsInHeap() {
#if defined(__GLIBC__)
  // 32 MiB is the largest threshold glibc accepts on 64-bit (a larger one is
  // refused and the default kept).
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

}  // namespace wave
