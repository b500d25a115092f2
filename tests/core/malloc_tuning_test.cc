#include "core/malloc_tuning.h"

#include <cstdlib>
#include <cstring>

#include "gtest/gtest.h"
#include "tests/under_asan.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace wave {
namespace {

// An 8 MiB buffer, which glibc would map on its own by default, now comes from
// the heap: the count of mmapped chunks does not move.
TEST(MallocTuningTest, LargeBuffersComeFromTheHeap) {
#if !defined(__GLIBC__) || WAVE_UNDER_ASAN
  GTEST_SKIP() << "glibc malloc only";
#else
  KeepLargeAllocationsInHeap();
  const int mapped_before = mallinfo2().hblks;
  char* buffer = static_cast<char*>(std::malloc(8 << 20));
  ASSERT_NE(buffer, nullptr);
  std::memset(buffer, 1, 8 << 20);
  EXPECT_EQ(mallinfo2().hblks, mapped_before);
  std::free(buffer);
#endif
}

}  // namespace
}  // namespace wave
