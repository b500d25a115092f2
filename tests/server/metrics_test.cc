// The metrics as a scraper reads them, over HTTP from a real endpoint.
#include "server/metrics.h"

#include "tests/http_get.h"
#include "tests/status_matchers.h"

namespace wave {
namespace {


TEST(MetricsTest, RefusalsAreCountedByReasonAndNothingElseIs) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Metrics> metrics, Metrics::Create("127.0.0.1:0"));
  ASSERT_GT(metrics->port(), 0);
  metrics->RecordRefusal("busy");
  metrics->RecordRefusal("busy");
  metrics->RecordRefusal("limit");
  metrics->RecordRefusal("");  // no refusal: not counted
  metrics->SetHeld("watch_streams", 3);
  metrics->RecordRequest("Initialize", "FAILED_PRECONDITION", 0.5);
  const std::string text = testing::HttpGet(metrics->port(), "/metrics");
  EXPECT_NE(text.find("wave_refusals_total{reason=\"busy\"} 2"), std::string::npos) << text;
  EXPECT_NE(text.find("wave_refusals_total{reason=\"limit\"} 1"), std::string::npos) << text;
  EXPECT_EQ(text.find("wave_refusals_total{reason=\"\"}"), std::string::npos) << text;
  EXPECT_NE(text.find("wave_client_held{resource=\"watch_streams\"} 3"), std::string::npos);
  EXPECT_NE(text.find("wave_requests_total{code=\"FAILED_PRECONDITION\",method=\"Initialize\"} 1"),
            std::string::npos)
      << text;
}

TEST(MetricsTest, WithoutAnAddressNothingIsServed) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Metrics> metrics, Metrics::Create(""));
  EXPECT_EQ(metrics->port(), 0);
  metrics->RecordRefusal("busy");  // kept, not served: no crash
}

}  // namespace
}  // namespace wave
