// WAVE_UNDER_ASAN: 1 when this file is compiled with AddressSanitizer, which
// brings its own allocator (GCC says __SANITIZE_ADDRESS__, clang
// __has_feature(address_sanitizer)).
#ifndef WAVE_TESTS_UNDER_ASAN_H_
#define WAVE_TESTS_UNDER_ASAN_H_

#if defined(__SANITIZE_ADDRESS__)
#define WAVE_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WAVE_UNDER_ASAN 1
#endif
#endif
#ifndef WAVE_UNDER_ASAN
#define WAVE_UNDER_ASAN 0
#endif

#endif  // WAVE_TESTS_UNDER_ASAN_H_
