// mmdg: multi-modal domain-generalized face anti-spoofing (MMDG, CVPR 2024) in C++.
#include <c10/util/Exception.h>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "mmdg/data/sample.h"
#include "mmdg/io/npy.h"
#include "mmdg/train/trainer.h"
#include "mmdg/util/build_info.h"
#include "mmdg/util/error.h"
#include "mmdg/util/log.h"
#include "mmdg/util/runtime.h"

// Exit status: 0 success, 1 failure (bad file, NaN loss, ...), 2 usage error (unknown option, bad
// option value, missing option), 130 interrupted (SIGINT / SIGTERM; the state was saved).
namespace {
constexpr int kFailure = 1, kUsage = 2, kInterrupted = 130;
int failure(const char* what, bool usage) {
  mmdg::log::error(what);
  if (mmdg::train::interrupt_requested()) return kInterrupted;
  return usage ? kUsage : kFailure;
}
}  // namespace

int main(int argc, char** argv) {
  mmdg::use_passive_openmp_wait(argv);  // may re-execute the program once (OMP_WAIT_POLICY)
  mmdg::keep_freed_memory();             // large temporaries reuse the heap instead of fresh pages
  CLI::App app{
      "mmdg: multi-modal domain-generalized face anti-spoofing (MMDG, \"Suppress and Rebalance\", "
      "CVPR 2024) in C++ / LibTorch"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("mmdg ") + MMDG_VERSION_STRING + " (" + MMDG_GIT_DESCRIBE + ")");
  int threads = 0;
  app.add_option("--threads", threads, "LibTorch intra-op threads (0 = all cores)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  bool quiet = false, verbose = false;
  auto* quiet_flag = app.add_flag("-q,--quiet", quiet, "show only warnings and errors (results still print)");
  app.add_flag("-v,--verbose", verbose, "also show debug messages (every logged training step, the runtime)")->excludes(quiet_flag);
  std::uint64_t max_sample_mb = 1024;
  app.add_option("--max-sample-mb", max_sample_mb,
                 "largest decoded .npz sample array accepted, in MB (images: OpenCV's OPENCV_IO_MAX_IMAGE_PIXELS)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 24))
      ->capture_default_str();
  bool outside_root = false;
  app.add_flag("--allow-outside-data-root", outside_root,
               "let list paths leave --data-root (absolute paths, '..' above it); refused by default");
  // Applied before any subcommand runs.
  app.parse_complete_callback([&] {
    mmdg::log::set_console_level(quiet ? mmdg::log::Level::warning : verbose ? mmdg::log::Level::debug : mmdg::log::Level::info);
    mmdg::set_threads(threads);
    mmdg::data::allow_paths_outside_data_root(outside_root);
    mmdg::io::set_max_npz_entry_bytes(max_sample_mb << 20);  // images: OpenCV's own limit, read at its load
  });
  mmdg::cli::add_version_command(app);
  mmdg::cli::add_weights_command(app);
  mmdg::cli::add_model_command(app);
  mmdg::cli::add_train_command(app);
  mmdg::cli::add_launch_command(app);
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
  mmdg::cli::add_stress_command(app);
#endif
#ifdef MMDG_HAVE_SERVE
  mmdg::cli::add_serve_command(app);
#endif
  mmdg::cli::add_data_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help / version (code 0) or the parse error
    return code == 0 ? 0 : kUsage;
  } catch (const mmdg::UsageError& e) {
    return failure(e.what(), true);
  } catch (const mmdg::Error& e) {
    return failure(e.what(), false);
  } catch (const c10::Error& e) {
    return failure(e.what_without_backtrace(), false);
  } catch (const std::exception& e) {
    return failure(e.what(), false);
  }
  return 0;
}
