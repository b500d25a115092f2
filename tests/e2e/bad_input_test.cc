// Table-driven hostile input against one real server over loopback: each
// case asserts the exact code and that the message names the problem, and
// the server keeps answering good requests.
#include <grpcpp/grpcpp.h>

#include <cmath>
#include <functional>
#include <thread>

#include "tests/e2e/harness.h"
#include "tests/status_matchers.h"
#include "wave/v1/wave.grpc.pb.h"

namespace wave {
namespace {

using Request = v1::InitializeRequest;

Request Header(std::function<void(v1::InitializeHeader*)> edit = nullptr) {
  Request r;
  auto* h = r.mutable_header();
  h->mutable_target()->set_depth(2);
  h->mutable_target()->set_width(32);
  h->mutable_target()->set_classes(10);
  h->mutable_fit()->set_steps(1);
  h->mutable_fit()->set_batch(2);
  h->set_num_samples(4);
  if (edit) edit(h);
  return r;
}

Request Chunk(int64_t samples, uint64_t sequence = 0, int64_t label = 1, int64_t image_bytes = 784,
              int64_t label_bytes = 8) {
  Request r;
  auto* d = r.mutable_data();
  d->set_sequence(sequence);
  d->set_images(std::string(samples * image_bytes, '\x20'));
  std::string labels;
  for (int64_t i = 0; i < samples; ++i) {
    int64_t v = i == 0 ? label : i % 10;
    labels.append(reinterpret_cast<const char*>(&v), 8);
  }
  labels.resize(samples * label_bytes, '\0');
  d->set_labels(labels);
  return r;
}

Request FloatChunk(int64_t samples, float value) {
  Request r;
  auto* d = r.mutable_data();
  std::vector<float> pixels(samples * 784, value);
  d->set_images(reinterpret_cast<const char*>(pixels.data()), pixels.size() * 4);
  std::vector<int64_t> labels(samples, 1);
  d->set_labels(reinterpret_cast<const char*>(labels.data()), samples * 8);
  return r;
}

struct Case {
  const char* name;
  std::vector<Request> messages;
  grpc::StatusCode code;
  const char* message;
  double deadline_s = 0;
};

grpc::Status Call(v1::WaveInit::Stub& stub, const std::vector<Request>& messages,
                  double deadline_s = 30) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::microseconds(static_cast<int64_t>(deadline_s * 1e6)));
  auto stream = stub.Initialize(&context);
  for (const auto& m : messages) {
    if (!stream->Write(m)) break;
  }
  stream->WritesDone();
  v1::InitializeResponse response;
  while (stream->Read(&response)) {
  }
  return stream->Finish();
}

std::vector<Case> Cases() {
  using C = grpc::StatusCode;
  auto header = [](auto edit) { return Header(edit); };
  return {
      {"zero depth", {header([](auto* h) { h->mutable_target()->set_depth(0); })},
       C::INVALID_ARGUMENT, "target.depth: must be in [1, 65536], got 0"},
      {"negative depth", {header([](auto* h) { h->mutable_target()->set_depth(-5); })},
       C::INVALID_ARGUMENT, "target.depth: must be in [1, 65536], got -5"},
      {"overflowed depth", {header([](auto* h) { h->mutable_target()->set_depth(INT64_MIN); })},
       C::INVALID_ARGUMENT, "target.depth"},
      {"zero width", {header([](auto* h) { h->mutable_target()->set_width(0); })},
       C::INVALID_ARGUMENT, "target.width: must be in [1, 65536], got 0"},
      {"zero classes", {header([](auto* h) { h->mutable_target()->set_classes(0); })},
       C::INVALID_ARGUMENT, "target.classes: must be in [1, 65536], got 0"},
      {"width off the tile grid", {header([](auto* h) { h->mutable_target()->set_width(40); })},
       C::INVALID_ARGUMENT, "target.width: must be a multiple of lcm"},
      {"heads not width / head dim",
       {header([](auto* h) {
         h->mutable_target()->set_width(64);
         h->mutable_target()->set_heads(2);
       })},
       C::INVALID_ARGUMENT, "target.heads: must be width / head_dim = 4 for this bank, got 2"},
      {"negative heads", {header([](auto* h) { h->mutable_target()->set_heads(-2); })},
       C::INVALID_ARGUMENT, "target.heads: must be in [1, 65536], got -2"},
      {"absurd depth", {header([](auto* h) { h->mutable_target()->set_depth(1000000000); })},
       C::FAILED_PRECONDITION, "target.depth: 1000000000 exceeds the server's limit of 64 (--max_depth); ask for a shallower target"},
      {"absurd width", {header([](auto* h) { h->mutable_target()->set_width(1LL << 40); })},
       C::FAILED_PRECONDITION, "target.width"},
      {"10^12 parameters",
       {header([](auto* h) {
         h->mutable_target()->set_depth(64);
         h->mutable_target()->set_width(2048);
       })},
       C::FAILED_PRECONDITION, "target parameters"},
      {"absurd classes",
       {header([](auto* h) { h->mutable_target()->set_classes(1000000000); })},
       C::FAILED_PRECONDITION, "target.classes"},
      {"unknown bank", {header([](auto* h) { h->set_bank("imagenet"); })}, C::NOT_FOUND,
       "no bank named 'imagenet'"},
      {"path as bank", {header([](auto* h) { h->set_bank("../../etc/passwd"); })},
       C::NOT_FOUND, "no bank named '../../etc/passwd'"},
      {"garbage bank", {header([](auto* h) { h->set_bank(std::string(5000, 'z')); })},
       C::NOT_FOUND, "no bank named 'zzzz"},
      {"negative steps", {header([](auto* h) { h->mutable_fit()->set_steps(-1); })},
       C::INVALID_ARGUMENT, "fit.steps: must be >= 0"},
      {"zero batch", {header([](auto* h) { h->mutable_fit()->set_batch(0); })},
       C::INVALID_ARGUMENT, "fit.batch: must be >= 1"},
      {"NaN lr", {header([](auto* h) { h->mutable_fit()->set_lr(NAN); })}, C::INVALID_ARGUMENT,
       "fit.lr"},
      {"negative lr", {header([](auto* h) { h->mutable_fit()->set_head_lr(-1); })},
       C::INVALID_ARGUMENT, "fit.lr"},
      {"too many steps", {header([](auto* h) { h->mutable_fit()->set_steps(1LL << 40); })},
       C::FAILED_PRECONDITION, "fit.steps"},
      {"huge batch", {header([](auto* h) { h->mutable_fit()->set_batch(1 << 30); })},
       C::FAILED_PRECONDITION, "fit.batch"},
      {"unknown scaler init", {header([](auto* h) { h->mutable_fit()->set_scaler_init("cubic"); })},
       C::INVALID_ARGUMENT, "fit.scaler_init"},
      {"blended auxiliaries", {header([](auto* h) { h->mutable_fit()->set_auxiliary("blend"); })},
       C::INVALID_ARGUMENT, "fit.auxiliary: must be 'nearest' or 'narrower'"},
      {"negative held out", {header([](auto* h) { h->mutable_fit()->set_held_out(-7); })},
       C::INVALID_ARGUMENT, "fit.held_out: must be >= 0, got -7"},
      {"held out -1", {header([](auto* h) { h->mutable_fit()->set_held_out(-1); })},
       C::INVALID_ARGUMENT, "fit.held_out: must be >= 0, got -1"},
      {"held out every sample", {header([](auto* h) { h->mutable_fit()->set_held_out(4); })},
       C::INVALID_ARGUMENT, "fit.held_out: 4 of 4 samples leaves fewer than 2 to fit on"},
      {"held out past the samples",
       {header([](auto* h) { h->mutable_fit()->set_held_out(1000); })}, C::INVALID_ARGUMENT,
       "fit.held_out: 1000 of 4 samples"},
      {"lr 1e38", {header([](auto* h) { h->mutable_fit()->set_lr(1e38); })},
       C::INVALID_ARGUMENT, "fit.lr: 1e+38 exceeds the server's limit of 1"},
      {"head lr 1e38", {header([](auto* h) { h->mutable_fit()->set_head_lr(1e38); })},
       C::INVALID_ARGUMENT, "fit.head_lr: 1e+38 exceeds the server's limit of 1"},
      {"lr 1e20", {header([](auto* h) { h->mutable_fit()->set_lr(1e20); })},
       C::INVALID_ARGUMENT, "fit.lr: 1e+20 exceeds"},
      {"float images of 3e38",
       {Header([](auto* h) { h->set_image_dtype(v1::IMAGE_DTYPE_FLOAT32); }),
        FloatChunk(4, 3e38f)},
       C::INVALID_ARGUMENT, "images: float32 images are taken as normalized and must lie within"},
      {"float images of -5000",
       {Header([](auto* h) { h->set_image_dtype(v1::IMAGE_DTYPE_FLOAT32); }),
        FloatChunk(4, -5000.0f)},
       C::INVALID_ARGUMENT, "found 5000"},
      {"unknown output dtype",
       {header([](auto* h) { h->mutable_output()->set_dtype(static_cast<v1::WeightDType>(99)); })},
       C::INVALID_ARGUMENT, "output.dtype"},
      {"tiny chunk size", {header([](auto* h) { h->mutable_output()->set_chunk_bytes(10); })},
       C::INVALID_ARGUMENT, "output.chunk_bytes"},
      {"unknown image dtype",
       {header([](auto* h) { h->set_image_dtype(static_cast<v1::ImageDType>(77)); })},
       C::INVALID_ARGUMENT, "image_dtype"},
      {"negative samples", {header([](auto* h) { h->set_num_samples(-1); })},
       C::INVALID_ARGUMENT, "num_samples: must be >= 0"},
      {"too many samples", {header([](auto* h) { h->set_num_samples(1LL << 40); })},
       C::FAILED_PRECONDITION, "num_samples"},
      {"fit without data", {header([](auto* h) { h->set_num_samples(0); })},
       C::INVALID_ARGUMENT, "needs at least 2 labelled samples"},
      {"partial image", {Header(), Chunk(1, 0, 1, 700)}, C::INVALID_ARGUMENT,
       "data.images: 700 bytes is not a whole number of 784-byte images"},
      {"labels mismatch", {Header(), Chunk(4, 0, 1, 784, 4)}, C::INVALID_ARGUMENT,
       "data.labels: expected 4 int64 labels"},
      {"data after the end", {Header(), Chunk(4), Chunk(1, 1)}, C::INVALID_ARGUMENT,
       "more samples than the 4 the header announced"},
      {"chunks out of order", {Header(), Chunk(2, 1)}, C::INVALID_ARGUMENT,
       "data.sequence: expected chunk 0, got 1"},
      {"header twice", {Header(), Header()}, C::INVALID_ARGUMENT, "header: sent twice"},
      {"data before header", {Chunk(4)}, C::INVALID_ARGUMENT, "data: arrived before the header"},
      {"empty message", {Request()}, C::INVALID_ARGUMENT, "neither a header nor a data chunk"},
      {"no header at all", {}, C::INVALID_ARGUMENT, "header: never sent"},
      {"fewer samples than announced", {Header(), Chunk(3)}, C::INVALID_ARGUMENT,
       "announced 4 samples but 3 arrived"},
      {"label out of range", {Header(), Chunk(4, 0, 10)}, C::INVALID_ARGUMENT,
       "labels: values must be in [0, 10), found 10"},
      {"negative label", {Header(), Chunk(4, 0, -3)}, C::INVALID_ARGUMENT, "found -3"},
      {"NaN images",
       {Header([](auto* h) { h->set_image_dtype(v1::IMAGE_DTYPE_FLOAT32); }),
        FloatChunk(4, NAN)},
       C::INVALID_ARGUMENT, "images: contain NaN or infinite values"},
      {"infinite images",
       {Header([](auto* h) { h->set_image_dtype(v1::IMAGE_DTYPE_FLOAT32); }),
        FloatChunk(4, INFINITY)},
       C::INVALID_ARGUMENT, "images: contain NaN or infinite values"},
      {"uint8 images in a float32 request",
       {Header([](auto* h) { h->set_image_dtype(v1::IMAGE_DTYPE_FLOAT32); }), Chunk(4)},
       C::INVALID_ARGUMENT, "data.labels: expected 1 int64 labels (8 bytes) for 1 images"},
      {"oversized message", {Header(), Chunk(12000)}, C::RESOURCE_EXHAUSTED, ""},
      {"one millisecond deadline",
       {header([](auto* h) { h->mutable_fit()->set_steps(4000);
                 h->mutable_fit()->set_patience(0); }), Chunk(4)},
       C::DEADLINE_EXCEEDED, "", 0.001},
  };
}

TEST(BadInputTest, EveryHostileRequestGetsItsCodeAndTheServerLives) {
  testing::ServerProcess server;
  ASSERT_TRUE(server.started()) << server.log();
  auto channel = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  auto stub = v1::WaveInit::NewStub(channel);
  const std::vector<Request> good = {Header(), Chunk(4)};
  auto cases = Cases();
  ASSERT_GE(cases.size(), 30u);
  int checked = 0;
  for (const Case& c : cases) {
    grpc::Status s = Call(*stub, c.messages, c.deadline_s > 0 ? c.deadline_s : 30);
    EXPECT_EQ(s.error_code(), c.code) << c.name << ": " << s.error_message();
    EXPECT_NE(s.error_message().find(c.message), std::string::npos)
        << c.name << ": " << s.error_message();
    if (++checked % 10 == 0) {
      grpc::Status ok = Call(*stub, good);
      EXPECT_TRUE(ok.ok()) << "after " << c.name << ": " << ok.error_message();
    }
  }
  grpc::Status ok = Call(*stub, good);
  EXPECT_TRUE(ok.ok()) << ok.error_message();
}

TEST(BadInputTest, ClientsThatVanishDoNotHurtTheServer) {
  testing::ServerProcess server({"--fit_slots=1", "--max_queued=0"});
  ASSERT_TRUE(server.started()) << server.log();
  auto channel = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  auto stub = v1::WaveInit::NewStub(channel);
  for (int i = 0; i < 5; ++i) {
    // Mid-upload: the header went out, then the client is gone.
    grpc::ClientContext upload;
    auto s1 = stub->Initialize(&upload);
    s1->Write(Header([](auto* h) { h->set_num_samples(4000); }));
    upload.TryCancel();
    s1->Finish();
    // Mid-download: a zero-step init of a larger model, abandoned at once.
    grpc::ClientContext download;
    auto s2 = stub->Initialize(&download);
    s2->Write(Header([](auto* h) {
      h->mutable_target()->set_depth(8);
      h->mutable_target()->set_width(512);
      h->mutable_fit()->set_steps(0);
      h->set_num_samples(0);
      h->mutable_output()->set_chunk_bytes(4096);
    }));
    s2->WritesDone();
    v1::InitializeResponse r;
    s2->Read(&r);
    download.TryCancel();
    s2->Finish();
  }
  // The fit slot is free again and the server answers.
  bool ok = false;
  for (int i = 0; i < 50 && !ok; ++i) {
    ok = Call(*stub, {Header(), Chunk(4)}).ok();
    if (!ok) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(ok) << server.log();
}

}  // namespace
}  // namespace wave
