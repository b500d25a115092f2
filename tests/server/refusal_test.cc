#include "server/refusal.h"

#include "server/status_util.h"
#include "tests/status_matchers.h"

namespace wave {
namespace {

using ::absl::StatusCode;

TEST(RefusalTest, EachReasonHasItsCodeAndWordsAndSurvivesTheEdge) {
  const absl::Status busy = BusyRefusal("upload memory: full");
  EXPECT_STATUS(busy, StatusCode::kResourceExhausted, "server busy: upload memory: full; retry later");
  EXPECT_EQ(RefusalReason(busy), kRefusalBusy);

  const absl::Status share = ClientShareRefusal("this client holds 3");
  EXPECT_STATUS(share, StatusCode::kResourceExhausted,
                "this client holds 3; retry when this client's other calls end");
  EXPECT_EQ(RefusalReason(share), kRefusalClientShare);

  const absl::Status limit =
      LimitRefusal("num_samples", 60000, 20000, "--max_samples", "send at most 20000 samples");
  EXPECT_STATUS(limit, StatusCode::kFailedPrecondition,
                "num_samples: 60000 exceeds the server's limit of 20000 (--max_samples); send at "
                "most 20000 samples");
  EXPECT_EQ(RefusalReason(limit), kRefusalLimit);
  EXPECT_EQ(std::string(limit.message()).find("retry"), std::string::npos);

  EXPECT_EQ(RefusalReason(absl::ResourceExhaustedError("out of memory")), "");
  EXPECT_EQ(RefusalReason(absl::OkStatus()), "");
}

TEST(StatusUtilTest, TheOneConversionKeepsCodeAndMessage) {
  const grpc::Status converted = ToGrpcStatus(LimitRefusal("targets", 9, 8, "--max_targets", "x"));
  EXPECT_EQ(converted.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(converted.error_message(),
            "targets: 9 exceeds the server's limit of 8 (--max_targets); x");
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::RESOURCE_EXHAUSTED), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
}

}  // namespace
}  // namespace wave
