#include "tools/common/data_flags.h"

#include <optional>
#include <tuple>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "core/base/idx.h"
#include "core/base/status_macros.h"
#include "core/data/read_data.h"

ABSL_FLAG(std::string, data, wave::kFashionMnistDir,
          "Training images: an image folder (one sub-folder per class), a .npy or .npz, or IDX "
          "(a folder with train-* files, or an images file). docs/own-data.md.");
ABSL_FLAG(std::string, data_format, "auto", "auto (from the path), folder, npy, npz or idx.");
ABSL_FLAG(std::string, test_data, "",
          "Test images (same formats). Default: IDX's t10k-* beside train-*; otherwise a "
          "stratified tenth of --data (seed 1000) held out of it.");

namespace wave {

absl::StatusOr<ImageSet> ReadFlagData(const std::string& path, const ImageLoadOptions& options) {
  ASSIGN_OR_RETURN(DataFormat format, ParseDataFormat(absl::GetFlag(FLAGS_data_format)));
  return ReadImageData(path, format, options);
}

absl::StatusOr<TrainAndTest> ReadTrainAndTest(const ImageLoadOptions& options) {
  const std::string data = absl::GetFlag(FLAGS_data);
  ASSIGN_OR_RETURN(ImageSet train_set, ReadFlagData(data, options));
  TrainAndTest out;
  out.class_names = train_set.class_names;
  out.channels = train_set.channels;
  out.image_size = train_set.size;
  std::string test_path = absl::GetFlag(FLAGS_test_data);
  if (test_path.empty()) test_path = IdxTestSplitOf(data);
  // The test images take the training images' geometry, whatever the options.
  ImageLoadOptions test_options = options;
  test_options.channels = train_set.channels;
  test_options.image_size = train_set.size;
  out.train = ToDataset(train_set);
  train_set = ImageSet();
  if (!test_path.empty()) {
    ASSIGN_OR_RETURN(ImageSet test_set, ReadFlagData(test_path, test_options));
    if (test_set.classes() > static_cast<int64_t>(out.class_names.size())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--test_data has classes the training data lacks (", test_set.classes(), " against ",
          out.class_names.size(), ")"));
    }
    out.test = ToDataset(test_set);
    out.test_source = test_path;
  } else {
    std::tie(out.train, out.test) =
        SplitHeldOut(out.train, out.train.size() / 10,
                     static_cast<int64_t>(out.class_names.size()), kTestSplitSeed);
    out.test_source = absl::StrCat("a stratified tenth of the data (seed ", kTestSplitSeed, ")");
  }
  return out;
}

}  // namespace wave
