// Small parsing helpers shared by the subcommands.
#pragma once
#include <torch/types.h>

#include <array>
#include <string>

namespace mmdg::cli {

// "depth,ir" -> {false, true, true}; errors name the option.
std::array<bool, 3> parse_missing(const std::string& text);

// "cpu", "cuda", "cuda:1"; errors when CUDA is asked for and not available.
torch::Device parse_device(const std::string& text);

}  // namespace mmdg::cli
