// Network checkpoints on disk.
//
// This project's checkpoint is a safetensors file holding the network's state dict under the
// released code's parameter names plus, in its metadata, the resolved model options
// ("mmdg_options", JSON), the deployment record of a trained network ("mmdg_deployment", JSON:
// input pipeline and decision threshold, deployment.h) and a format tag, so a checkpoint alone
// rebuilds the model and scores a new sample as training did.
// The released PyTorch code's checkpoints (plain state dicts, .pth or .safetensors) are imported
// with options given separately, and exported for it as plain state dicts.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "mmdg/infer/deployment.h"
#include "mmdg/model/network.h"

namespace mmdg::infer {

// Writes weights + options (+ the deployment record of a trained network, + `extra` metadata,
// JSON) atomically.
void save_checkpoint(const std::string& path, const model::NetworkImpl& net, const std::optional<Deployment>& deployment,
                     const nlohmann::json& extra = nlohmann::json::object());

// The deployment record of a checkpoint for a network of input size `image_size`; for one without
// it (older checkpoints, plain state dicts) the defaults with `recorded` false. Errors name the file.
Deployment read_deployment(const std::string& path, std::int64_t image_size);

// Options stored in a checkpoint, or nullopt for a plain state dict (released layout).
std::optional<model::NetworkOptions> read_checkpoint_options(const std::string& path);

// Builds the network from a checkpoint: its own options when it has them, else `fallback`
// (required then). Loading is strict. The network is in eval mode.
model::Network load_checkpoint(const std::string& path, const std::optional<model::NetworkOptions>& fallback = std::nullopt);

// Writes the state dict in the released code's layout: a torch.save .pth (loadable by
// `model.load_state_dict(torch.load(path))`) or, for a `.safetensors` path, safetensors.
void export_released(const std::string& path, const model::NetworkImpl& net);

}  // namespace mmdg::infer
