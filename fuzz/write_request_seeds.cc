// Writes the request fuzzer's seed corpus: sequences of serialized
// InitializeRequest messages, each behind a 2-byte little-endian length, as
// request_fuzz.cc reads them. Run once: write_request_seeds fuzz/corpus/request
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "wave/v1/wave.pb.h"

namespace {

using wave::v1::InitializeRequest;

InitializeRequest Header(int64_t samples, wave::v1::ImageDType dtype) {
  InitializeRequest request;
  auto* header = request.mutable_header();
  header->mutable_target()->set_depth(2);
  header->mutable_target()->set_width(64);
  header->mutable_target()->set_classes(10);
  header->mutable_fit()->set_steps(2);
  header->mutable_fit()->set_batch(2);
  header->set_num_samples(samples);
  header->set_image_dtype(dtype);
  return request;
}

InitializeRequest Data(uint64_t sequence, int64_t samples, int64_t bytes_per_image) {
  InitializeRequest request;
  auto* data = request.mutable_data();
  data->set_sequence(sequence);
  data->set_images(std::string(samples * bytes_per_image, '\x40'));
  std::string labels;
  for (int64_t i = 0; i < samples; ++i) labels.push_back(static_cast<char>(i % 10));
  data->set_labels(labels);
  return request;
}

bool WriteSeed(const std::string& path, const std::vector<InitializeRequest>& messages) {
  std::string out;
  for (const auto& message : messages) {
    const std::string bytes = message.SerializeAsString();
    if (bytes.size() > 0xffff) return false;
    out.push_back(static_cast<char>(bytes.size() & 0xff));
    out.push_back(static_cast<char>(bytes.size() >> 8));
    out += bytes;
  }
  std::ofstream file(path, std::ios::binary);
  file << out;
  return static_cast<bool>(file);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  constexpr int64_t kPixels = 28 * 28;
  const bool ok =
      WriteSeed(dir + "/uint8_two_chunks",
                {Header(4, wave::v1::IMAGE_DTYPE_UINT8), Data(0, 2, kPixels), Data(1, 2, kPixels)}) &&
      WriteSeed(dir + "/float32_one_chunk",
                {Header(2, wave::v1::IMAGE_DTYPE_FLOAT32), Data(0, 2, 4 * kPixels)}) &&
      WriteSeed(dir + "/header_only_no_fit", {[] {
                  InitializeRequest request = Header(0, wave::v1::IMAGE_DTYPE_UINT8);
                  request.mutable_header()->mutable_fit()->set_steps(0);
                  return request;
                }()}) &&
      WriteSeed(dir + "/two_targets_head_steps", {[] {
                  InitializeRequest request = Header(2, wave::v1::IMAGE_DTYPE_UINT8);
                  auto* h = request.mutable_header();
                  *h->add_targets() = h->target();
                  *h->add_targets() = h->target();
                  h->mutable_targets(1)->set_depth(h->target().depth() + 1);
                  h->clear_target();
                  h->mutable_fit()->set_head_steps(3);
                  return request;
                }(), Data(0, 2, kPixels)}) &&
      WriteSeed(dir + "/resume", {[] {
                  InitializeRequest request;
                  request.mutable_header()->set_resume_key(std::string(64, 'a'));
                  request.mutable_header()->set_resume_offset(4096);
                  return request;
                }()});
  if (!ok) {
    std::fprintf(stderr, "could not write the seeds under %s\n", dir.c_str());
    return 1;
  }
  return 0;
}
