// Copying a state dict (tensors by name) into a module's parameters and buffers, with a report
// of missing, unexpected and mis-shaped tensors by name; and the reverse (module -> state dict).
#pragma once
#include <torch/nn/module.h>

#include <string>
#include <vector>

#include "mmdg/io/state_dict.h"

namespace mmdg::model {

struct LoadReport {
  std::vector<std::string> missing;     // in the module, not in the state dict
  std::vector<std::string> unexpected;  // in the state dict, not in the module
  std::vector<std::string> mismatched;  // "name: file [..] vs model [..]"
  std::size_t loaded = 0;
  bool complete() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  // Multi-line, human-readable summary of the three lists (at most `limit` names each).
  std::string describe(std::size_t limit = 20) const;
};

// Copies every tensor whose name and shape match (converted to the parameter's dtype and device,
// without tracking gradients). strict: throws mmdg::Error naming `context` and every missing,
// unexpected or mis-shaped tensor, leaving the module unchanged. Non-strict: loads what matches
// and returns the report (for heads that are meant to be replaced).
LoadReport load_state_dict(torch::nn::Module& module, const io::StateDict& state, bool strict,
                           const std::string& context);

// Parameters and buffers of a module, by their dotted names.
io::StateDict module_state_dict(const torch::nn::Module& module);

}  // namespace mmdg::model
