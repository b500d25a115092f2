#include "core/base/malloc_tuning.h"

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
  // A server that just composed and streamed a 400 MB target is likely to
  // do it again: keep up to 1 GiB freed rather than fault it back in. What is
  // kept never exceeds the peak the process already reached.
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

}  // namespace wave
