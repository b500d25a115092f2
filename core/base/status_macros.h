// Early-return helpers for absl::Status / absl::StatusOr, as Abseil 20220623
// does not ship them.
#ifndef WAVE_CORE_BASE_STATUS_MACROS_H_
#define WAVE_CORE_BASE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define WAVE_CONCAT_INNER(a, b) a##b
#define WAVE_CONCAT(a, b) WAVE_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                   \
  do {                                          \
    ::absl::Status wave_status_ = (expr);       \
    if (!wave_status_.ok()) return wave_status_; \
  } while (0)

#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(*tmp)

#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(WAVE_CONCAT(wave_statusor_, __LINE__), lhs, expr)

#endif  // WAVE_CORE_BASE_STATUS_MACROS_H_
