// wave-client's subcommands. Each returns the process exit code.
#ifndef WAVE_CLIENT_COMMANDS_H_
#define WAVE_CLIENT_COMMANDS_H_

#include <string>
#include <vector>

#include "client/connection.h"
#include "wave/v1/wave.pb.h"

namespace wave {

int RunHealth(const ConnectionOptions& connection, const std::string& service);
int RunBanks(const ConnectionOptions& connection);
int RunDescribe(const ConnectionOptions& connection, const std::string& bank);

struct InitCommand {
  v1::InitializeHeader header;
  // An image folder, a .npy/.npz or an IDX images file (labels: --labels,
  // or found beside), brought to the bank's shape before upload.
  std::string images, labels, data_format;
  std::string data;  // or a safetensors file already of the bank's shape
  int64_t samples = 0;         // 0: all
  uint64_t sample_seed = 0;
  // One weights file per target, in the header's order (a single target:
  // --out; --sizes: DIR/vit-DxW.safetensors).
  std::vector<std::string> outs = {"model.safetensors"};
  std::string scalers_out;
  bool json = false;
  bool resume = false;  // continue "<out>.part" left by a broken download
};
int RunInit(const ConnectionOptions& connection, const InitCommand& command);

}  // namespace wave

#endif  // WAVE_CLIENT_COMMANDS_H_
