// `mmdg weights info FILE [--json]` and `mmdg version`.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "mmdg/io/weights_file.h"
#include "mmdg/util/runtime.h"

namespace mmdg::cli {
namespace {

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// A name from a file as a terminal shows it: bytes outside printable ASCII as \xNN (a name need not
// be UTF-8 or free of control characters).
std::string printable(const std::string& name) {
  std::string out;
  for (unsigned char c : name) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out;
}

void print_weights_info(const std::string& path, bool json) {
  const io::WeightsInfo info = io::weights_info(path);
  const char* format = info.format == io::WeightsFormat::TorchZip ? "torch-zip" : "safetensors";
  if (json) {
    nlohmann::json out = {{"file", path}, {"format", format}, {"total_elements", info.total_elements},
                          {"skipped", info.skipped}, {"tensors", nlohmann::json::array()}};
    for (const auto& t : info.tensors)
      out["tensors"].push_back({{"name", t.name}, {"dtype", t.dtype}, {"shape", t.shape}, {"sum", t.sum}});
    // names that are not UTF-8 get U+FFFD instead of failing the whole output
    std::cout << out.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  std::size_t width = 4;
  for (const auto& t : info.tensors) width = std::max(width, printable(t.name).size());
  std::printf("%-*s  %-8s  %-20s  %s\n", static_cast<int>(width), "name", "dtype", "shape", "sum");
  for (const auto& t : info.tensors)
    std::printf("%-*s  %-8s  %-20s  %.10g\n", static_cast<int>(width), printable(t.name).c_str(), t.dtype.c_str(),
                shape_text(t.shape).c_str(), t.sum);
  std::printf("%zu tensors, %lld elements (%s)\n", info.tensors.size(),
              static_cast<long long>(info.total_elements), format);
  for (const auto& s : info.skipped) std::printf("skipped non-tensor entry: %s\n", printable(s).c_str());
}

}  // namespace

void add_version_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("version", "Print versions, threads, the BLAS in use and devices");
  cmd->callback([] { std::cout << runtime_summary() << "\n"; });
}

void add_weights_command(CLI::App& app) {
  auto* weights = app.add_subcommand("weights", "Inspect pretrained-weight files (.pth / .safetensors)");
  weights->require_subcommand(1);
  auto* info = weights->add_subcommand(
      "info", "List every tensor (name, dtype, shape, sum in double precision) of a torch.save "
              "checkpoint or a safetensors file, without executing anything from it");
  auto file = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  info->add_option("file", *file, "weights file")->required();
  info->add_flag("--json", *json, "machine-readable output");
  info->callback([file, json] { print_weights_info(*file, *json); });
}

}  // namespace mmdg::cli
