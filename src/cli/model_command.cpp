// `mmdg model list | info | init | export | import`: the registered networks and training
// strategies; inspect, create and convert models.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/model_config.h"
#include "mmdg/infer/checkpoint.h"
#include "mmdg/io/weights_file.h"
#include "mmdg/train/strategy.h"
#include "mmdg/util/error.h"
#include "mmdg/util/settings.h"
#include "mmdg/util/log.h"

namespace mmdg::cli {
namespace {

// The options of a checkpoint, or, for a plain state dict / no checkpoint, the --config ones.
model::Network build(const std::string& checkpoint, const ModelConfigOptions& config) {
  if (checkpoint.empty()) return model::make_network(config.resolve());
  const auto stored = infer::read_checkpoint_options(checkpoint);
  if (stored && config.given())
    throw Error(checkpoint + ": the checkpoint carries its own model options; drop --config and the model options");
  return infer::load_checkpoint(checkpoint, stored ? stored : std::optional<model::NetworkOptions>(config.resolve()));
}

// The checkpoint's deployment record (input pipeline, operating point), null when it has none.
nlohmann::json deployment_json(const std::string& checkpoint, const model::NetworkImpl& net) {
  if (checkpoint.empty()) return nullptr;
  const auto S = net.options().backbone.image_size();
  const auto d = infer::read_deployment(checkpoint, S);
  return d.recorded ? d.to_json(S) : nlohmann::json();
}

void print_info(model::NetworkImpl& net, bool json, const std::string& checkpoint) {
  const auto counts = model::count_parameters(net);
  const auto deployment = deployment_json(checkpoint, net);
  if (json) {
    nlohmann::json groups = nlohmann::json::object();
    for (const auto& [group, total, trainable] : counts.groups) groups[group] = {{"total", total}, {"trainable", trainable}};
    std::cout << nlohmann::json{{"options", settings::to_json(net.options())},
                                {"parameters", {{"total", counts.total}, {"trainable", counts.trainable}, {"groups", groups}}},
                                {"deployment", deployment}}
                     .dump(1)
              << "\n";
    return;
  }
  std::cout << "model options:\n" << settings::describe(net.options());
  std::printf("%-10s %15s %15s\n", "group", "parameters", "trainable");
  for (const auto& [group, total, trainable] : counts.groups)
    std::printf("%-10s %15lld %15lld\n", group.c_str(), static_cast<long long>(total), static_cast<long long>(trainable));
  std::printf("%-10s %15lld %15lld\n", "total", static_cast<long long>(counts.total),
              static_cast<long long>(counts.trainable));
  if (!checkpoint.empty())
    std::cout << "deployment record (mmdg_deployment): "
              << (deployment.is_null() ? std::string("none (an older or imported checkpoint: defaults are used)") : deployment.dump(1))
              << "\n";
}

}  // namespace

void add_model_command(CLI::App& app) {
  auto* model_cmd = app.add_subcommand("model", "List, inspect, create and convert models");
  model_cmd->require_subcommand(1);
  {
    auto* cmd = model_cmd->add_subcommand("list", "The registered networks, training strategies and method presets");
    cmd->callback([] {
      std::cout << "networks (--network):\n";
      for (const auto& e : model::network_registry()) std::printf("  %-14s %s\n", e.name.c_str(), e.description.c_str());
      std::cout << "training strategies (--strategy):\n";
      for (const auto& e : train::strategy_registry()) std::printf("  %-14s %s\n", e.name.c_str(), e.description.c_str());
      std::cout << "methods (--method = network + strategy):\n";
      for (const auto& m : train::method_presets())
        std::printf("  %-14s %s + %s (%s)\n", m.name.c_str(), m.network.c_str(), m.strategy.c_str(), m.title.c_str());
      std::cout << "  or any network+strategy the strategy can train, e.g. vit-uadapter+ssdg\n";
    });
  }

  {
    auto* cmd = model_cmd->add_subcommand("info", "Resolved options and parameter counts (total, trainable) per group");
    auto checkpoint = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    cmd->add_option("--checkpoint", *checkpoint, "an mmdg checkpoint, or a released-layout state dict with --config");
    cmd->add_flag("--json", *json, "machine-readable output");
    auto config = std::make_shared<ModelConfigOptions>(cmd, "mmdg_b16");
    cmd->callback([=] {
      auto net = build(*checkpoint, *config);
      print_info(*net, *json, *checkpoint);
    });
  }
  {
    auto* cmd = model_cmd->add_subcommand(
        "init", "Write an untrained MMDG checkpoint whose backbone comes from pretrained ViT weights (.pth / .safetensors)");
    auto pretrained = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    cmd->add_option("--pretrained", *pretrained, "ViT weights (torchvision or timm names)")->required();
    cmd->add_option("--out", *out, "checkpoint to write (.safetensors)")->required();
    auto seed = std::make_shared<std::int64_t>(0);
    cmd->add_option("--seed", *seed, "seed of the new layers' initialization (adapters, head): the same seed, the same weights")
        ->capture_default_str();
    auto config = std::make_shared<ModelConfigOptions>(cmd, "mmdg_b16");
    cmd->callback([=] {
      torch::manual_seed(static_cast<std::uint64_t>(*seed));
      model::Network net = model::make_network(config->resolve());
      net->load_pretrained_backbone(io::read_weights(*pretrained), *pretrained);
      infer::save_checkpoint(*out, *net, std::nullopt, {{"pretrained", *pretrained}});
      log::info("wrote " + *out);
    });
  }
  {
    auto* cmd = model_cmd->add_subcommand(
        "export", "Write a checkpoint in the released PyTorch code's layout (.pth for torch.load, or .safetensors)");
    auto checkpoint = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    cmd->add_option("--checkpoint", *checkpoint, "mmdg checkpoint")->required();
    cmd->add_option("--out", *out, "file to write: .pth or .safetensors")->required();
    cmd->callback([=] {
      auto net = infer::load_checkpoint(*checkpoint);
      infer::export_released(*out, *net);
      log::info("wrote " + *out);
    });
  }
  {
    auto* cmd = model_cmd->add_subcommand(
        "import", "Turn a released-layout state dict (.pth / .safetensors from the PyTorch code) into an mmdg checkpoint");
    auto weights = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    cmd->add_option("--weights", *weights, "released-layout state dict")->required();
    cmd->add_option("--out", *out, "mmdg checkpoint to write (.safetensors)")->required();
    auto config = std::make_shared<ModelConfigOptions>(cmd, "mmdg_b16");
    cmd->callback([=] {
      auto net = infer::load_checkpoint(*weights, config->resolve());
      infer::save_checkpoint(*out, *net, std::nullopt, {{"imported_from", *weights}});
      log::info("wrote " + *out);
    });
  }
}

}  // namespace mmdg::cli
