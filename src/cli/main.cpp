// mmdg: multi-modal domain-generalized face anti-spoofing (MMDG, CVPR 2024) in C++.
#include <c10/util/Exception.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "mmdg/util/error.h"
#include "mmdg/util/runtime.h"

int main(int argc, char** argv) {
  mmdg::use_passive_openmp_wait(argv);  // may re-execute the program once (OMP_WAIT_POLICY)
  CLI::App app{
      "mmdg: multi-modal domain-generalized face anti-spoofing (MMDG, \"Suppress and Rebalance\", "
      "CVPR 2024) in C++ / LibTorch"};
  app.require_subcommand(1);
  int threads = 0;
  app.add_option("--threads", threads, "LibTorch intra-op threads (0 = all cores)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  // Applied before any subcommand runs.
  app.parse_complete_callback([&] { mmdg::set_threads(threads); });
  mmdg::cli::add_version_command(app);
  mmdg::cli::add_weights_command(app);
  mmdg::cli::add_model_command(app);
  mmdg::cli::add_train_command(app);
  mmdg::cli::add_eval_command(app);
  mmdg::cli::add_protocol_command(app);
  mmdg::cli::add_ablate_command(app);
  mmdg::cli::add_bench_command(app);
#ifdef MMDG_HAVE_OPENCV
  mmdg::cli::add_predict_command(app);
  mmdg::cli::add_synth_command(app);
  mmdg::cli::add_plot_command(app);
  mmdg::cli::add_pretrain_command(app);
  mmdg::cli::add_demo_command(app);
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const mmdg::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  } catch (const c10::Error& e) {
    std::cerr << "error: " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
