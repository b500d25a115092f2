#include "core/base/malloc_tuning.h"

#include <cstdlib>
#include <cstring>
#include <vector>

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

// 320 MiB in 8 MiB blocks, freed: the heap keeps it for the next call instead
// of returning it (glibc's default, and a 256 MiB threshold, would trim it).
TEST(MallocTuningTest, FreedMemoryIsKeptForReuse) {
#if !defined(__GLIBC__) || WAVE_UNDER_ASAN
  GTEST_SKIP() << "glibc malloc only";
#else
  KeepLargeAllocationsInHeap();
  constexpr size_t kBlock = 8 << 20;
  constexpr int kBlocks = 40;
  std::vector<char*> blocks;
  blocks.reserve(kBlocks);  // no small allocation between the blocks and the top
  for (int i = 0; i < kBlocks; ++i) {
    blocks.push_back(static_cast<char*>(std::malloc(kBlock)));
    ASSERT_NE(blocks.back(), nullptr);
    std::memset(blocks.back(), 1, kBlock);
  }
  for (char* b : blocks) std::free(b);
  EXPECT_GE(mallinfo2().keepcost, kBlocks * kBlock);
#endif
}

}  // namespace
}  // namespace wave
