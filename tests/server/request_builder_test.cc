// RequestBuilder on its own: the header's rules, the upload budget, chunks.
#include "server/request_builder.h"

#include <unistd.h>

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/base/status_macros.h"
#include "server/bank_fit_defaults.h"
#include "server/proto_convert.h"
#include "tests/core/bank_fixture.h"
#include "tests/status_matchers.h"

namespace wave {
namespace {

using ::absl::StatusCode;

class RequestBuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "/rb_bank." + std::to_string(getpid()) + ".safetensors";
    TemplateBank bank = testing::TinyBank(2);
    bank.name = "tiny";
    ASSERT_OK(SaveBank(bank, path_));
    ASSERT_OK(banks_.Load(path_));
  }
  void TearDown() override { std::remove(path_.c_str()); }

  static v1::InitializeRequest Header(int64_t samples, int64_t steps = 1) {
    v1::InitializeRequest r;
    auto* h = r.mutable_header();
    h->mutable_target()->set_depth(2);
    h->mutable_target()->set_width(32);
    h->mutable_target()->set_classes(10);
    h->mutable_fit()->set_steps(steps);
    h->set_num_samples(samples);
    return r;
  }
  static v1::InitializeRequest Chunk(int64_t samples, uint64_t sequence) {
    v1::InitializeRequest r;
    r.mutable_data()->set_sequence(sequence);
    r.mutable_data()->set_images(std::string(samples * 784, '\x10'));
    r.mutable_data()->set_labels(std::string(samples * 8, '\0'));
    return r;
  }

  std::string path_;
  BankRegistry banks_;
  Limits limits_;
};

TEST_F(RequestBuilderTest, AGoodUploadBuildsTheRequest) {
  RequestBuilder builder(limits_, banks_);
  ASSERT_OK(builder.Add(Header(6)));
  ASSERT_OK(builder.Add(Chunk(4, 0)));
  ASSERT_OK(builder.Add(Chunk(2, 1)));
  EXPECT_EQ(builder.target()->ShortName(), "2x32h2");
  auto call = builder.Finish();
  ASSERT_OK(call);
  EXPECT_EQ(call->targets[0].request.target().ShortName(), "2x32h2");
  EXPECT_EQ(call->targets[0].request.few_shot().size(), 6);
  EXPECT_EQ(call->targets[0].request.fit().steps, 1);
  EXPECT_EQ(call->bank->name, "tiny");
}

TEST_F(RequestBuilderTest, TheHeaderReservesWhatItAnnouncesFromTheBudget) {
  ResourceBudget budget({"upload memory", "bytes", 10 * 792, "--upload_budget_bytes", "fewer"});
  {
    RequestBuilder a(limits_, banks_, &budget);
    ASSERT_OK(a.Add(Header(8)));
    EXPECT_EQ(budget.in_use(), 8 * 792);
    RequestBuilder b(limits_, banks_, &budget);
    EXPECT_STATUS(b.Add(Header(3)), StatusCode::kResourceExhausted,
                  "upload memory: this call needs 2376 bytes but only 1584");
    for (uint64_t i = 0; i < 8; ++i) ASSERT_OK(a.Add(Chunk(1, i)));
    auto call = a.Finish();
    ASSERT_OK(call);
    EXPECT_EQ(budget.in_use(), 8 * 792) << "the lease travels with the data";
    call->ReleaseFewShot();
    EXPECT_EQ(budget.in_use(), 0);
    EXPECT_EQ(call->targets[0].request.few_shot().size(), 0);
    RequestBuilder c(limits_, banks_, &budget);
    ASSERT_OK(c.Add(Header(3)));
    EXPECT_EQ(budget.in_use(), 3 * 792);
  }
  EXPECT_EQ(budget.in_use(), 0);
}

TEST_F(RequestBuilderTest, NumbersOutsideTheirBoundsNameTheField) {
  auto with = [&](auto edit) {
    v1::InitializeRequest r = Header(4);
    edit(r.mutable_header());
    RequestBuilder builder(limits_, banks_);
    return builder.Add(r);
  };
  EXPECT_STATUS(with([](auto* h) { h->mutable_fit()->set_lr(2); }), StatusCode::kInvalidArgument,
                "fit.lr: 2 exceeds the server's limit of 1");
  EXPECT_STATUS(with([](auto* h) { h->mutable_fit()->set_head_lr(1e38); }),
                StatusCode::kInvalidArgument, "fit.head_lr: 1e+38 exceeds");
  EXPECT_STATUS(with([](auto* h) { h->mutable_fit()->set_held_out(-1); }),
                StatusCode::kInvalidArgument, "fit.held_out: must be >= 0, got -1");
  EXPECT_STATUS(with([](auto* h) { h->mutable_fit()->set_held_out(3); }),
                StatusCode::kInvalidArgument, "fit.held_out: 3 of 4 samples leaves fewer than 2");
  EXPECT_OK(with([](auto* h) { h->mutable_fit()->set_held_out(2); }));
}

TEST_F(RequestBuilderTest, ChunksMustFollowTheHeaderInOrderAndAddUp) {
  RequestBuilder builder(limits_, banks_);
  EXPECT_STATUS(builder.Add(Chunk(1, 0)), StatusCode::kInvalidArgument,
                "data: arrived before the header");
  ASSERT_OK(builder.Add(Header(4)));
  EXPECT_STATUS(builder.Add(Chunk(1, 3)), StatusCode::kInvalidArgument,
                "data.sequence: expected chunk 0, got 3");
  RequestBuilder short_upload(limits_, banks_);
  ASSERT_OK(short_upload.Add(Header(4)));
  ASSERT_OK(short_upload.Add(Chunk(3, 0)));
  EXPECT_STATUS(short_upload.Finish().status(), StatusCode::kInvalidArgument,
                "the header announced 4 samples but 3 arrived");
}

TEST_F(RequestBuilderTest, TheImageShapeAndClassNamesAreCheckedAtTheHeader) {
  auto with = [&](const std::function<void(v1::InitializeHeader*)>& change) {
    RequestBuilder builder(limits_, banks_);
    v1::InitializeRequest r = Header(4);
    change(r.mutable_header());
    return builder.Add(r);
  };
  EXPECT_STATUS(with([](auto* h) {
                  h->mutable_image_shape()->set_channels(3);
                  h->mutable_image_shape()->set_height(32);
                  h->mutable_image_shape()->set_width(32);
                }),
                StatusCode::kInvalidArgument,
                "image_shape: bank 'tiny' takes 1x28x28 images; the request has 3x32x32");
  EXPECT_OK(with([](auto* h) {
    h->mutable_image_shape()->set_channels(1);
    h->mutable_image_shape()->set_height(28);
    h->mutable_image_shape()->set_width(28);
  }));
  EXPECT_STATUS(with([](auto* h) {
                  for (int i = 0; i < 11; ++i) h->add_class_names("c");
                }),
                StatusCode::kInvalidArgument, "class_names: 11 names for 10 classes");
  EXPECT_STATUS(with([](auto* h) { h->add_class_names(std::string(257, 'x')); }),
                StatusCode::kInvalidArgument, "class_names: a name of 257 bytes; at most 256");
  // Without a shape, a chunk that does not divide says what the bank takes.
  RequestBuilder builder(limits_, banks_);
  ASSERT_OK(builder.Add(Header(4)));
  v1::InitializeRequest rgb = Chunk(1, 0);
  rgb.mutable_data()->set_images(std::string(3 * 32 * 32, '\0'));
  EXPECT_STATUS(builder.Add(rgb), StatusCode::kInvalidArgument,
                "3072 bytes is not a whole number of 784-byte images (bank 'tiny' takes 1x28x28 "
                "images of uint8)");
}

// The cache key's inputs: the data digest depends on the samples, not on
// how the client cut them into chunks; the resolved header on the options'
// values, not on whether the defaults were spelled out.
TEST_F(RequestBuilderTest, TheDataDigestIgnoresChunkingAndSeesOneChangedPixel) {
  auto digest = [&](const std::vector<v1::InitializeRequest>& chunks,
                    v1::InitializeRequest header) -> std::pair<std::string, std::string> {
    RequestBuilder builder(limits_, banks_);
    EXPECT_OK(builder.Add(header));
    for (const auto& c : chunks) EXPECT_OK(builder.Add(c));
    auto call = builder.Finish();
    EXPECT_OK(call);
    return {call->data_sha256, call->targets[0].resolved.SerializeAsString()};
  };
  const auto whole = digest({Chunk(6, 0)}, Header(6));
  EXPECT_EQ(digest({Chunk(4, 0), Chunk(2, 1)}, Header(6)), whole);
  v1::InitializeRequest changed = Chunk(6, 0);
  (*changed.mutable_data()->mutable_images())[784 * 3 + 100] = '\x11';
  EXPECT_NE(digest({changed}, Header(6)).first, whole.first);

  v1::InitializeRequest spelled = Header(6);
  auto* fit = spelled.mutable_header()->mutable_fit();
  fit->set_batch(64);
  fit->set_eval_every(kDefaultEvalEvery);
  spelled.mutable_header()->mutable_output()->set_dtype(v1::WEIGHT_DTYPE_F32);
  spelled.mutable_header()->mutable_output()->set_chunk_bytes(1 << 16);  // not in the result
  EXPECT_EQ(digest({Chunk(6, 0)}, spelled).second, whole.second);
  fit->set_seed(5);
  EXPECT_NE(digest({Chunk(6, 0)}, spelled).second, whole.second);
}

TEST_F(RequestBuilderTest, AResumeHeaderNamesOnlyTheResult) {
  auto resume = [](const std::string& key) {
    v1::InitializeRequest r;
    r.mutable_header()->set_resume_key(key);
    r.mutable_header()->set_resume_offset(100);
    return r;
  };
  const std::string key(64, 'a');
  {
    RequestBuilder builder(limits_, banks_);
    ASSERT_OK(builder.Add(resume(key)));
    ASSERT_TRUE(builder.resume().has_value());
    EXPECT_EQ(builder.resume()->key, key);
    EXPECT_EQ(builder.resume()->file, "model.safetensors");
    EXPECT_EQ(builder.resume()->offset, 100u);
    EXPECT_STATUS(builder.Add(Chunk(1, 0)), StatusCode::kInvalidArgument, "takes no data");
  }
  {
    RequestBuilder builder(limits_, banks_);
    EXPECT_STATUS(builder.Add(resume("abc")), StatusCode::kInvalidArgument, "resume_key");
  }
  {
    RequestBuilder builder(limits_, banks_);
    v1::InitializeRequest r = resume(std::string(64, 'A'));  // upper case is not a key
    EXPECT_STATUS(builder.Add(r), StatusCode::kInvalidArgument, "resume_key");
  }
  {
    RequestBuilder builder(limits_, banks_);
    v1::InitializeRequest r = resume(key);
    r.mutable_header()->mutable_target()->set_depth(2);
    EXPECT_STATUS(builder.Add(r), StatusCode::kInvalidArgument, "names nothing else");
  }
  {
    RequestBuilder builder(limits_, banks_);
    v1::InitializeRequest r = resume(key);
    r.mutable_header()->set_resume_file("../etc/passwd");
    EXPECT_STATUS(builder.Add(r), StatusCode::kInvalidArgument, "resume_file");
  }
}

TEST_F(RequestBuilderTest, SeveralTargetsShareOneUploadAndErrorsNameTheEntry) {
  auto with_targets = [](std::vector<std::pair<int64_t, int64_t>> sizes) {
    v1::InitializeRequest r = Header(6);
    r.mutable_header()->clear_target();
    for (auto [depth, width] : sizes) {
      auto* t = r.mutable_header()->add_targets();
      t->set_depth(depth);
      t->set_width(width);
      t->set_classes(10);
    }
    return r;
  };
  {
    RequestBuilder builder(limits_, banks_);
    ASSERT_OK(builder.Add(with_targets({{1, 16}, {2, 32}, {3, 48}})));
    ASSERT_OK(builder.Add(Chunk(6, 0)));
    auto call = builder.Finish();
    ASSERT_OK(call);
    ASSERT_EQ(call->targets.size(), 3u);
    EXPECT_EQ(call->targets[2].request.target().ShortName(), "3x48h3");
    EXPECT_EQ(call->targets[1].request.few_shot().size(), 6);
    EXPECT_EQ(call->targets[2].resolved.target().width(), 48);
  }
  {
    RequestBuilder builder(limits_, banks_);
    EXPECT_STATUS(builder.Add(with_targets({{1, 16}, {2, 32}, {3, 40}})),
                  StatusCode::kInvalidArgument, "targets[2].width");
  }
  {
    RequestBuilder builder(limits_, banks_);
    EXPECT_STATUS(builder.Add(with_targets({{1, 16}, {0, 32}})), StatusCode::kInvalidArgument,
                  "targets[1].depth: must be in [1, 65536], got 0");
  }
  {
    RequestBuilder builder(limits_, banks_);
    v1::InitializeRequest both = with_targets({{1, 16}});
    both.mutable_header()->mutable_target()->set_depth(1);
    EXPECT_STATUS(builder.Add(both), StatusCode::kInvalidArgument, "either target or targets");
  }
  Limits tight = limits_;
  tight.max_targets = 2;
  {
    RequestBuilder builder(tight, banks_);
    EXPECT_STATUS(builder.Add(with_targets({{1, 16}, {1, 16}, {1, 16}})),
                  StatusCode::kFailedPrecondition,
                  "targets: 3 exceeds the server's limit of 2 (--max_targets); ask for fewer sizes");
  }
  tight.max_call_params = 50000;
  {
    RequestBuilder builder(tight, banks_);
    EXPECT_STATUS(builder.Add(with_targets({{3, 48}, {3, 48}})), StatusCode::kFailedPrecondition,
                  "targets' total parameters");
  }
}

TEST_F(RequestBuilderTest, UnsetFitOptionsTakeTheServersDefaults) {
  RequestBuilder builder(limits_, banks_);
  v1::InitializeRequest header = Header(6);
  header.mutable_header()->clear_fit();
  ASSERT_OK(builder.Add(header));
  ASSERT_OK(builder.Add(Chunk(6, 0)));
  auto call = builder.Finish();
  ASSERT_OK(call);
  const FitOptions& fit = call->targets[0].request.fit();
  EXPECT_EQ(fit.steps, kDefaultFitSteps);
  EXPECT_EQ(fit.eval_every, kDefaultEvalEvery);
  EXPECT_EQ(fit.patience, kDefaultPatience);
  EXPECT_EQ(fit.head_steps, 0);
  EXPECT_EQ(call->targets[0].resolved.fit().steps(), kDefaultFitSteps);
}

// The precision a request sets, else the server's; it is part of the
// resolved header, so results at two precisions never share a cache key.
TEST_F(RequestBuilderTest, ThePrecisionIsTheRequestsElseTheServersAndInTheResolvedHeader) {
  auto resolve = [&](const std::string& asked, Precision server_default) {
    RequestBuilder builder(limits_, banks_, nullptr, "", "cpu", server_default);
    v1::InitializeRequest header = Header(6);
    header.mutable_header()->mutable_fit()->set_precision(asked);
    EXPECT_OK(builder.Add(header));
    EXPECT_OK(builder.Add(Chunk(6, 0)));
    auto call = builder.Finish();
    EXPECT_OK(call);
    EXPECT_EQ(call->targets[0].resolved.fit().precision(),
              PrecisionName(call->targets[0].request.fit().precision));
    return call->targets[0].request.fit().precision;
  };
  EXPECT_EQ(resolve("", Precision::kBFloat16), Precision::kBFloat16);
  EXPECT_EQ(resolve("", Precision::kFloat32), Precision::kFloat32);
  EXPECT_EQ(resolve("f32", Precision::kBFloat16), Precision::kFloat32);
  EXPECT_EQ(resolve("bf16", Precision::kFloat32), Precision::kBFloat16);
  RequestBuilder builder(limits_, banks_);
  v1::InitializeRequest header = Header(6);
  header.mutable_header()->mutable_fit()->set_precision("fp8");
  EXPECT_STATUS(builder.Add(header), StatusCode::kInvalidArgument,
                "fit.precision: must be 'f32' or 'bf16' (or unset)");
}

TEST_F(RequestBuilderTest, UnsetFitOptionsTakeTheBanksDefaultsFirst) {
  TemplateBank bank = testing::TinyBank(2);
  bank.name = "tiny";
  bank.provenance[kFitDefaultsKey] =
      R"({"steps": 0, "head_steps": 300, "scaler_init": "select", "auxiliary": "narrower"})";
  ASSERT_OK(SaveBank(bank, path_));
  ASSERT_OK(banks_.Load(path_));
  auto fit_of = [&](const v1::InitializeRequest& header) -> absl::StatusOr<FitOptions> {
    RequestBuilder builder(limits_, banks_);
    RETURN_IF_ERROR(builder.Add(header));
    RETURN_IF_ERROR(builder.Add(Chunk(6, 0)));
    ASSIGN_OR_RETURN(InitCall call, builder.Finish());
    EXPECT_EQ(call.targets[0].resolved.fit().scaler_init(),
              ScalerInitName(call.targets[0].request.fit().scaler_init));
    return call.targets[0].request.fit();
  };
  v1::InitializeRequest header = Header(6);
  header.mutable_header()->clear_fit();
  auto bank_defaults = fit_of(header);
  ASSERT_OK(bank_defaults);
  EXPECT_EQ(bank_defaults->steps, 0);
  EXPECT_EQ(bank_defaults->head_steps, 300);
  EXPECT_EQ(bank_defaults->scaler_init, ScalerInit::kSelect);
  EXPECT_EQ(bank_defaults->aux_mix, AuxiliaryMix::kNearestNarrower);
  EXPECT_EQ(bank_defaults->eval_every, kDefaultEvalEvery);  // not the bank's: the server's

  // What the request sets wins, field by field.
  header.mutable_header()->mutable_fit()->set_steps(7);
  header.mutable_header()->mutable_fit()->set_scaler_init("structured");
  auto asked = fit_of(header);
  ASSERT_OK(asked);
  EXPECT_EQ(asked->steps, 7);
  EXPECT_EQ(asked->scaler_init, ScalerInit::kStructured);
  EXPECT_EQ(asked->head_steps, 300);
  EXPECT_EQ(asked->aux_mix, AuxiliaryMix::kNearestNarrower);
}

TEST_F(RequestBuilderTest, OtherClassesTakeTheBanksOtherClassesDefaults) {
  TemplateBank bank = testing::TinyBank(2);
  bank.name = "tiny";
  ASSERT_EQ(bank.auxiliaries[0].config.classes, 10);
  bank.provenance[kFitDefaultsKey] = R"({"steps": 0, "head_steps": 300, "scaler_init": "select"})";
  bank.provenance[kFitDefaultsOtherClassesKey] = R"({"steps": 40, "head_steps": 0})";
  ASSERT_OK(SaveBank(bank, path_));
  ASSERT_OK(banks_.Load(path_));
  auto fits_of =
      [&](const v1::InitializeRequest& header) -> absl::StatusOr<std::vector<FitOptions>> {
    RequestBuilder builder(limits_, banks_);
    RETURN_IF_ERROR(builder.Add(header));
    RETURN_IF_ERROR(builder.Add(Chunk(6, 0)));
    ASSIGN_OR_RETURN(InitCall call, builder.Finish());
    std::vector<FitOptions> fits;
    for (const auto& target : call.targets) {
      EXPECT_EQ(target.resolved.fit().steps(), target.request.fit().steps);
      fits.push_back(target.request.fit());
    }
    return fits;
  };
  v1::InitializeRequest header = Header(6);
  header.mutable_header()->clear_fit();
  auto own = fits_of(header);  // 10 classes, the bank's: its head serves
  ASSERT_OK(own);
  EXPECT_EQ((*own)[0].steps, 0);
  EXPECT_EQ((*own)[0].head_steps, 300);

  header.mutable_header()->mutable_target()->set_classes(5);
  auto other = fits_of(header);
  ASSERT_OK(other);
  EXPECT_EQ((*other)[0].steps, 40);
  EXPECT_EQ((*other)[0].head_steps, 0);
  EXPECT_EQ((*other)[0].scaler_init, ScalerInit::kSelect);  // the common key still holds

  // Ten other classes: the request turns the bank's head off.
  header.mutable_header()->mutable_target()->set_classes(10);
  header.mutable_header()->mutable_fit()->set_head_from_bank(false);
  auto renamed = fits_of(header);
  ASSERT_OK(renamed);
  EXPECT_EQ((*renamed)[0].steps, 40);

  // What the request sets still wins.
  header.mutable_header()->mutable_fit()->set_steps(3);
  auto asked = fits_of(header);
  ASSERT_OK(asked);
  EXPECT_EQ((*asked)[0].steps, 3);

  // Each target of one call by its own classes.
  v1::InitializeRequest several = Header(6);
  several.mutable_header()->clear_fit();
  v1::TargetArchitecture own_target = several.header().target();
  several.mutable_header()->clear_target();
  *several.mutable_header()->add_targets() = own_target;
  own_target.set_classes(5);
  *several.mutable_header()->add_targets() = own_target;
  auto each = fits_of(several);
  ASSERT_OK(each);
  ASSERT_EQ(each->size(), 2u);
  EXPECT_EQ((*each)[0].steps, 0);
  EXPECT_EQ((*each)[1].steps, 40);
}

// Class names other than the bank's say the classes are others: the bank's
// head is off, and the defaults are those for other classes, unless the
// request sets head_from_bank itself.
TEST_F(RequestBuilderTest, ClassNamesOtherThanTheBanksTakeTheOtherClassesDefaults) {
  TemplateBank bank = testing::TinyBank(2);
  bank.name = "tiny";
  bank.provenance[kFitDefaultsKey] = R"({"steps": 0, "head_steps": 300})";
  bank.provenance[kFitDefaultsOtherClassesKey] = R"({"steps": 40, "head_steps": 0})";
  ASSERT_OK(SaveBank(bank, path_));
  ASSERT_OK(banks_.Load(path_));
  auto served = [&](const std::vector<std::string>& names,
                    std::optional<bool> head_from_bank) -> absl::StatusOr<InitCall> {
    v1::InitializeRequest header = Header(6);  // ten classes, as many as the bank's
    header.mutable_header()->clear_fit();
    if (head_from_bank) header.mutable_header()->mutable_fit()->set_head_from_bank(*head_from_bank);
    for (const std::string& name : names) header.mutable_header()->add_class_names(name);
    RequestBuilder builder(limits_, banks_);
    RETURN_IF_ERROR(builder.Add(header));
    RETURN_IF_ERROR(builder.Add(Chunk(6, 0)));
    return builder.Finish();
  };
  const std::vector<std::string> own = BankClassNames(bank);  // "0" ... "9"
  ASSERT_EQ(own.size(), 10u);
  const std::vector<std::string> others = {"cat", "dog", "ship", "frog", "deer",
                                           "bird", "car", "truck", "horse", "plane"};
  for (const auto& [names, steps, head] :
       {std::tuple<std::vector<std::string>, int64_t, bool>{{}, 0, true},
        {own, 0, true},
        {{own[0], own[1]}, 0, true},
        {others, 40, false},
        {{own[0], "dog"}, 40, false}}) {
    auto call = served(names, std::nullopt);
    ASSERT_OK(call);
    const std::string what = absl::StrJoin(names, ",");
    EXPECT_EQ(call->targets[0].request.fit().steps, steps) << what;
    EXPECT_EQ(call->targets[0].request.fit().head_from_bank, head) << what;
    EXPECT_EQ(call->targets[0].resolved.fit().head_from_bank(), head) << what;
  }
  // The request's own head_from_bank wins over what its names say.
  auto kept = served(others, true);
  ASSERT_OK(kept);
  EXPECT_EQ(kept->targets[0].request.fit().steps, 0);
  EXPECT_TRUE(kept->targets[0].request.fit().head_from_bank);
  EXPECT_EQ(kept->targets[0].resolved.class_names(0), "cat");
}

// What an evaluation runs as "the server's defaults" (WithBankFitDefaults,
// then ApplyFitHeader) is what the builder gives a request that sets no fit
// option, on the bank's own classes and on others.
TEST_F(RequestBuilderTest, TheServedDefaultsAreOneFunctionAwayFromTheBank) {
  TemplateBank bank = testing::TinyBank(2);
  bank.name = "tiny";
  bank.provenance[kFitDefaultsKey] = R"({"steps": 0, "head_steps": 300, "scaler_init": "select"})";
  bank.provenance[kFitDefaultsOtherClassesKey] = R"({"steps": 40, "head_steps": 0})";
  ASSERT_OK(SaveBank(bank, path_));
  ASSERT_OK(banks_.Load(path_));
  for (int64_t classes : {10, 5}) {
    v1::InitializeRequest header = Header(6);
    header.mutable_header()->clear_fit();
    header.mutable_header()->mutable_target()->set_classes(classes);
    RequestBuilder builder(limits_, banks_);
    ASSERT_OK(builder.Add(header));
    ASSERT_OK(builder.Add(Chunk(6, 0)));
    auto call = builder.Finish();
    ASSERT_OK(call);
    const FitOptions& served = call->targets[0].request.fit();
    auto merged = WithBankFitDefaults(bank, classes, v1::FitOptions());
    ASSERT_OK(merged);
    const FitOptions evaluated = ApplyFitHeader(*merged);
    EXPECT_EQ(evaluated.steps, served.steps) << classes;
    EXPECT_EQ(evaluated.steps, classes == 10 ? 0 : 40);
    EXPECT_EQ(evaluated.head_steps, served.head_steps) << classes;
    EXPECT_EQ(evaluated.scaler_init, served.scaler_init) << classes;
    EXPECT_EQ(evaluated.head_from_bank, served.head_from_bank) << classes;
    EXPECT_EQ(evaluated.held_out, served.held_out) << classes;
    EXPECT_EQ(evaluated.eval_every, served.eval_every) << classes;
    EXPECT_EQ(evaluated.patience, served.patience) << classes;
    EXPECT_EQ(evaluated.lr, served.lr) << classes;
    EXPECT_EQ(evaluated.seed, served.seed) << classes;
  }
}

TEST_F(RequestBuilderTest, ABankWithBadFitDefaultsIsNotLoaded) {
  for (const auto& [defaults, words] : std::vector<std::pair<std::string, std::string>>{
           {"not json", "provenance fit_defaults"},  // either key's name begins so
           {R"({"scaler_init": "cubic"})", "fit.scaler_init"},
           {R"({"auxiliary": "blend"})", "fit.auxiliary"},
           {R"({"steps": -3})", "steps must be >= 0, got -3"},
           {R"({"no_such_option": 1})", "provenance fit_defaults"}}) {
    TemplateBank bank = testing::TinyBank(2);
    bank.name = "bad-defaults";
    for (const char* key : {kFitDefaultsKey, kFitDefaultsOtherClassesKey}) {
      bank.provenance.erase(kFitDefaultsKey);
      bank.provenance[key] = defaults;
      ASSERT_OK(SaveBank(bank, path_));
      BankRegistry registry;
      SCOPED_TRACE(absl::StrCat(key, ": ", defaults));
      absl::Status loaded = registry.Load(path_);
      EXPECT_STATUS(loaded, StatusCode::kInvalidArgument, words);
      EXPECT_TRUE(absl::StrContains(loaded.message(), absl::StrCat("provenance ", key, ": ")))
          << loaded;
      EXPECT_STATUS(registry.Get("bad-defaults"), StatusCode::kNotFound, "bad-defaults");
    }
  }
}

}  // namespace
}  // namespace wave

namespace wave {
namespace {

// The resolved header (the cache key's fit options) and ApplyFitHeader are
// each other's inverse for every field a client can set: a field written by
// one and not the other would let two different requests share a result.
TEST(FitOptionsProtoTest, EveryFieldRoundTrips) {
  FitOptions o;
  o.steps = 123;
  o.batch = 17;
  o.lr = 3e-4;
  o.head_lr = 7e-3;
  o.seed = 99;
  o.held_out = 31;
  o.scaler_init = ScalerInit::kSelect;
  o.aux_mix = AuxiliaryMix::kNearestNarrower;
  o.head_from_bank = false;
  o.eval_every = 11;
  o.patience = 3;
  o.head_steps = 250;
  o.max_passes = 2.5;
  o.tail_blocks = 2;
  o.head_refit_steps = 120;
  o.precision = Precision::kBFloat16;
  v1::FitOptions proto;
  ToProto(o, &proto);
  const FitOptions back = ApplyFitHeader(proto);
  EXPECT_EQ(back.steps, o.steps);
  EXPECT_EQ(back.batch, o.batch);
  EXPECT_EQ(back.lr, o.lr);
  EXPECT_EQ(back.head_lr, o.head_lr);
  EXPECT_EQ(back.seed, o.seed);
  EXPECT_EQ(back.held_out, o.held_out);
  EXPECT_EQ(back.scaler_init, o.scaler_init);
  EXPECT_EQ(back.aux_mix, o.aux_mix);
  EXPECT_EQ(back.head_from_bank, o.head_from_bank);
  EXPECT_EQ(back.eval_every, o.eval_every);
  EXPECT_EQ(back.patience, o.patience);
  EXPECT_EQ(back.head_steps, o.head_steps);
  EXPECT_EQ(back.max_passes, o.max_passes);
  EXPECT_EQ(back.tail_blocks, o.tail_blocks);
  EXPECT_EQ(back.head_refit_steps, o.head_refit_steps);
  EXPECT_EQ(back.precision, o.precision);
  // Every field of the message is written: one added to the API but not
  // here fails this count.
  std::vector<const google::protobuf::FieldDescriptor*> set;
  proto.GetReflection()->ListFields(proto, &set);
  EXPECT_EQ(static_cast<int>(set.size()), v1::FitOptions::descriptor()->field_count());
}

}  // namespace
}  // namespace wave
