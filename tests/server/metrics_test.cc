// The metrics as a scraper reads them, over HTTP from a real endpoint.
#include "server/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/status_matchers.h"

namespace wave {
namespace {

std::string Scrape(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  const std::string request = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string response;
  char buffer[4096];
  ssize_t n;
  while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0) response.append(buffer, n);
  close(fd);
  return response;
}

TEST(MetricsTest, RefusalsAreCountedByReasonAndNothingElseIs) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Metrics> metrics, Metrics::Create("127.0.0.1:0"));
  ASSERT_GT(metrics->port(), 0);
  metrics->RecordRefusal("busy");
  metrics->RecordRefusal("busy");
  metrics->RecordRefusal("limit");
  metrics->RecordRefusal("");  // no refusal: not counted
  metrics->SetHeld("watch_streams", 3);
  metrics->RecordRequest("Initialize", "FAILED_PRECONDITION", 0.5);
  const std::string text = Scrape(metrics->port());
  EXPECT_NE(text.find("HTTP/1.1 200"), std::string::npos) << text;
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
