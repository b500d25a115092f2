#include "server/auth.h"

#include "tests/status_matchers.h"

namespace wave {
namespace {

using ::absl::StatusCode;

TEST(AuthTest, ABearerTokenMustMatchExactly) {
  EXPECT_OK(CheckAuthorization(std::nullopt, ""));  // auth off
  EXPECT_OK(CheckAuthorization(std::string("anything"), ""));
  EXPECT_OK(CheckAuthorization(std::string("Bearer s3cret"), "s3cret"));
  EXPECT_STATUS(CheckAuthorization(std::nullopt, "s3cret"), StatusCode::kUnauthenticated,
                "authorization: missing bearer token");
  for (const char* wrong : {"Bearer s3cre", "Bearer s3cret ", "bearer s3cret", "s3cret",
                            "Bearer S3CRET", ""}) {
    SCOPED_TRACE(wrong);
    EXPECT_STATUS(CheckAuthorization(std::string(wrong), "s3cret"),
                  StatusCode::kUnauthenticated, "authorization: invalid bearer token");
  }
}

}  // namespace
}  // namespace wave
