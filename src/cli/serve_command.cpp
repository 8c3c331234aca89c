// `mmdg serve`: the detector as a local HTTP service (serve/server.h, docs/serve.md).
#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <iostream>
#include <memory>
#include <optional>
#include <chrono>
#include <thread>

#include "cli/commands.h"
#include "cli/model_config.h"
#include "cli/settings_cli.h"
#include "mmdg/infer/infer_options.h"
#include "mmdg/util/error.h"
#include "mmdg/util/log.h"
#include "mmdg/util/settings.h"
#include "serve/server.h"

namespace mmdg::cli {
namespace {

volatile std::sig_atomic_t g_signal = 0;
extern "C" void on_signal(int signal) { g_signal = signal; }

}  // namespace

void add_serve_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "The detector as a local HTTP service with a web page (docs/serve.md)");
  auto threshold = std::make_shared<std::optional<double>>();
  cmd->add_option("--threshold", *threshold,
                  "decide live when the live probability >= this (default: the checkpoint's, its source-val EER threshold)")
      ->check(unit_interval());
  // the per-request choices (missing modalities) come with each request; lists are not served
  auto infer = std::make_shared<SettingsOptions<infer::InferOptions>>(
      cmd, "Scoring", std::vector<std::string>{"data_root", "batch_size", "workers", "missing"});
  auto serve = std::make_shared<SettingsOptions<serve::ServeOptions>>(cmd, "Service");
  cmd->callback([threshold, infer, serve] {
    infer::InferOptions o;
    infer->apply(o);
    if (o.checkpoint.empty()) throw UsageError("option --checkpoint is required");
    o.validate();
    serve::ServeOptions s;
    serve->apply(s);
    s.validate();
    auto shown = s;  // the resolved options, the token masked
    if (!shown.token.empty()) shown.token = "(given)";
    log::info("service options:\n" + settings::describe(shown));
    infer::Predictor predictor = load_predictor(o, *threshold);
    serve::Server server(predictor, s, o.checkpoint);
    const int port = server.bind();
    // SIGINT and SIGTERM (to any of the process's threads, LibTorch's included) set a flag that
    // a watcher turns into a graceful stop: the requests in progress are answered first (set before
    // the address is printed: whoever waits for it may signal at once)
    g_signal = 0;
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::cout << "mmdg serve: " << predictor.options().network << " from " << o.checkpoint << " (threshold "
              << predictor.scoring().threshold << ", " << predictor.scoring().threshold_source << ")\n"
              << "mmdg serve: listening on http://" << s.host << ":" << port << "/ (Ctrl-C stops)" << std::endl;
    std::atomic<bool> done{false};
    std::thread watcher([&] {
      while (!done && g_signal == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (g_signal != 0) server.stop();
    });
    server.run();
    done = true;
    watcher.join();
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    const int received = g_signal;
    log::info(std::string("mmdg serve: stopped") + (received == SIGINT ? " (SIGINT)" : received == SIGTERM ? " (SIGTERM)" : ""));
  });
}

}  // namespace mmdg::cli
