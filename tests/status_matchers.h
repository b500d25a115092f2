// Assertions on absl::Status codes and messages (Abseil 20220623 ships no
// status matchers).
#ifndef WAVE_TESTS_STATUS_MATCHERS_H_
#define WAVE_TESTS_STATUS_MATCHERS_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace wave::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

}  // namespace wave::testing

// Asserts the code and that the message contains `substring`.
#define EXPECT_STATUS(expr, expected_code, substring)                                \
  do {                                                                               \
    const auto& wave_result_ = (expr);                                               \
    const absl::Status& wave_s_ = ::wave::testing::GetStatus(wave_result_);         \
    EXPECT_EQ(wave_s_.code(), (expected_code)) << wave_s_;                           \
    EXPECT_THAT(std::string(wave_s_.message()), ::testing::HasSubstr(substring));    \
  } while (0)

#define ASSERT_OK(expr)                                                    \
  do {                                                                     \
    const auto& wave_result_ = (expr);                                     \
    ASSERT_TRUE(::wave::testing::GetStatus(wave_result_).ok())             \
        << ::wave::testing::GetStatus(wave_result_);                       \
  } while (0)

#define EXPECT_OK(expr)                                                    \
  do {                                                                     \
    const auto& wave_result_ = (expr);                                     \
    EXPECT_TRUE(::wave::testing::GetStatus(wave_result_).ok())             \
        << ::wave::testing::GetStatus(wave_result_);                       \
  } while (0)

// Asserts that a StatusOr holds a value and moves it into `lhs`.
#define ASSERT_OK_AND_ASSIGN(lhs, expr)                                      \
  auto WAVE_TEST_CONCAT(wave_or_, __LINE__) = (expr);                        \
  ASSERT_TRUE(WAVE_TEST_CONCAT(wave_or_, __LINE__).ok())                     \
      << WAVE_TEST_CONCAT(wave_or_, __LINE__).status();                      \
  lhs = std::move(*WAVE_TEST_CONCAT(wave_or_, __LINE__))
#define WAVE_TEST_CONCAT_INNER(a, b) a##b
#define WAVE_TEST_CONCAT(a, b) WAVE_TEST_CONCAT_INNER(a, b)

#endif  // WAVE_TESTS_STATUS_MATCHERS_H_
