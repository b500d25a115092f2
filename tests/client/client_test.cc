// The client's own units, without a server: the channel's options, how a
// failed call is reported, the few-shot data it uploads.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "client/connection.h"
#include "client/few_shot_data.h"
#include "core/base/safetensors.h"
#include "tests/status_matchers.h"

namespace wave {
namespace {

using ::absl::StatusCode;

TEST(ConnectionTest, TheLoadBalancingPolicyIsCheckedBeforeAnyCall) {
  ConnectionOptions options;
  options.server = "ipv4:127.0.0.1:1,127.0.0.1:2";
  options.lb_policy = "round_robin";
  EXPECT_OK(Connect(options));
  options.lb_policy = "random";
  EXPECT_STATUS(Connect(options), StatusCode::kInvalidArgument,
                "--lb_policy must be round_robin or pick_first, not 'random'");
}

TEST(ConnectionTest, AFailedCallReadsAsTheMessageAndTheCodesName) {
  EXPECT_EQ(DescribeStatus(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "too big")),
            "too big (FAILED_PRECONDITION)");
  EXPECT_EQ(DescribeStatus(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "busy")),
            "busy (RESOURCE_EXHAUSTED)");
}

FewShotData Labelled(const std::vector<int64_t>& labels) {
  FewShotData d;
  d.count = static_cast<int64_t>(labels.size());
  d.sample_bytes = 2;
  for (size_t i = 0; i < labels.size(); ++i) {
    d.images.push_back(static_cast<uint8_t>(i));
    d.images.push_back(static_cast<uint8_t>(labels[i]));
  }
  d.labels = labels;
  return d;
}

TEST(FewShotDataTest, AStratifiedSampleSpreadsOverTheLabelsAndKeepsPairsTogether) {
  std::vector<int64_t> labels;
  for (int i = 0; i < 90; ++i) labels.push_back(i % 3);  // 30 of each
  const FewShotData data = Labelled(labels);
  const FewShotData sample = StratifiedSample(data, 12, 7);
  ASSERT_EQ(sample.count, 12);
  std::map<int64_t, int> per_label;
  for (int64_t i = 0; i < sample.count; ++i) {
    ++per_label[sample.labels[i]];
    EXPECT_EQ(sample.images[2 * i + 1], sample.labels[i]) << "an image lost its label";
  }
  EXPECT_EQ(per_label, (std::map<int64_t, int>{{0, 4}, {1, 4}, {2, 4}}));
  EXPECT_EQ(StratifiedSample(data, 12, 7).images, sample.images) << "not reproducible";
  EXPECT_NE(StratifiedSample(data, 12, 8).images, sample.images) << "the seed is ignored";
  EXPECT_EQ(StratifiedSample(data, 0, 7).count, 90);
  EXPECT_EQ(StratifiedSample(data, 1000, 7).count, 90);
}

std::string TempFile(const std::string& name) {
  return ::testing::TempDir() + "/" + name + "." + std::to_string(getpid());
}

TEST(FewShotDataTest, ReadsASafetensorsFileAndNamesWhatIsWrongWithOne) {
  const std::vector<uint8_t> images(3 * 1 * 2 * 2, 9);
  const std::vector<int64_t> labels = {2, 0, 1};
  SafetensorsWriter good;
  ASSERT_OK(good.Add("images", DType::kU8, {3, 1, 2, 2}, images.data(), images.size()));
  ASSERT_OK(good.Add("labels", DType::kI64, {3}, labels.data(), labels.size() * 8));
  const std::string path = TempFile("data.safetensors");
  ASSERT_OK(good.WriteFile(path));
  auto data = ReadSafetensorsData(path);
  ASSERT_OK(data);
  EXPECT_EQ(data->count, 3);
  EXPECT_EQ(data->sample_bytes, 4);
  EXPECT_FALSE(data->is_float);
  EXPECT_EQ(data->labels, labels);

  SafetensorsWriter short_labels;
  ASSERT_OK(short_labels.Add("images", DType::kU8, {3, 1, 2, 2}, images.data(), images.size()));
  ASSERT_OK(short_labels.Add("labels", DType::kI64, {2}, labels.data(), 16));
  ASSERT_OK(short_labels.WriteFile(path));
  EXPECT_STATUS(ReadSafetensorsData(path), StatusCode::kInvalidArgument,
                "'labels' must be I64 or U8 [N] with N the number of images");
  std::remove(path.c_str());
}

}  // namespace
}  // namespace wave
