// glibc malloc settings for processes that move large buffers around.
#ifndef WAVE_CORE_BASE_MALLOC_TUNING_H_
#define WAVE_CORE_BASE_MALLOC_TUNING_H_

namespace wave {

// By default glibc serves every allocation above 128 KiB-32 MiB (its dynamic
// threshold) with a fresh mmap, so each 2 MiB file chunk, protobuf message and
// tensor costs hundreds of page faults and a munmap. This keeps allocations up
// to 32 MiB in the heap and freed memory there for reuse (up to 1 GiB free at
// the top before returning it to the system). No-op outside glibc and
// under sanitizers, which bring their own allocator.
void KeepLargeAllocationsInHeap();

}  // namespace wave

#endif  // WAVE_CORE_BASE_MALLOC_TUNING_H_
