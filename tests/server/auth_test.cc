#include "server/auth.h"

#include "tests/status_matchers.h"

namespace wave {
namespace {

using ::absl::StatusCode;
using ::testing::ElementsAre;

// The value, or the status as text (so a failure shows why).
std::string IdentityOr(const absl::StatusOr<std::string>& identity) {
  return identity.ok() ? *identity : identity.status().ToString();
}
std::vector<std::string> TokensOr(const absl::StatusOr<std::vector<std::string>>& tokens) {
  return tokens.ok() ? *tokens : std::vector<std::string>{tokens.status().ToString()};
}

TEST(AuthTest, WithoutTokensTheIdentityIsThePeersAddress) {
  EXPECT_EQ(IdentityOr(Authenticate(std::nullopt, {}, "ipv4:10.0.0.7:40112")), "ipv4:10.0.0.7");
  EXPECT_EQ(IdentityOr(Authenticate(std::string("anything"), {}, "ipv6:[::1]:5000")),
            "ipv6:[::1]");
  EXPECT_EQ(PeerHost("unix:/tmp/wave.sock"), "unix:/tmp/wave.sock");
  EXPECT_EQ(PeerHost("ipv6:[fe80::1%eth0]:80"), "ipv6:[fe80::1%eth0]");
}

TEST(AuthTest, ABearerTokenMustMatchOneExactly) {
  const std::vector<std::string> tokens = {"s3cret", "other"};
  EXPECT_EQ(IdentityOr(Authenticate(std::string("Bearer s3cret"), tokens, "ipv4:1.2.3.4:5")),
            "token 1");
  EXPECT_EQ(IdentityOr(Authenticate(std::string("Bearer other"), tokens, "ipv4:1.2.3.4:5")),
            "token 2");
  EXPECT_STATUS(Authenticate(std::nullopt, tokens, "p"), StatusCode::kUnauthenticated,
                "authorization: missing bearer token");
  for (const char* wrong : {"Bearer s3cre", "Bearer s3cret ", "bearer s3cret", "s3cret",
                            "Bearer S3CRET", "", "Bearer "}) {
    SCOPED_TRACE(wrong);
    EXPECT_STATUS(Authenticate(std::string(wrong), tokens, "p"), StatusCode::kUnauthenticated,
                  "authorization: invalid bearer token");
  }
}

TEST(AuthTest, ATokenFileHoldsOneTokenPerLine) {
  EXPECT_THAT(TokensOr(ParseTokens("# team a\nalpha\n\n  beta  \n", "f")),
              ElementsAre("alpha", "beta"));
  EXPECT_THAT(TokensOr(ParseTokens("only", "f")), ElementsAre("only"));
  EXPECT_STATUS(ParseTokens("# none\n\n", "/etc/t"), StatusCode::kInvalidArgument,
                "token file '/etc/t' holds no token");
}

}  // namespace
}  // namespace wave
