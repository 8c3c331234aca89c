// `mmdg launch --nproc N -- <mmdg arguments>`: one run as N processes on this machine, each started
// with torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR=127.0.0.1, MASTER_PORT),
// so that `mmdg train` joins them into one process group (mmdg/util/process_group.h). Several
// machines: start `mmdg train` on each with the same variables set by the cluster's launcher
// (torchrun, Slurm, a Kubernetes PyTorchJob) instead.
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "mmdg/util/error.h"
#include "mmdg/util/log.h"
#include "mmdg/util/process_group.h"

namespace mmdg::cli {
namespace {

std::vector<pid_t> g_children;  // the processes a signal to the launcher is passed on to

void forward_signal(int signal) {
  for (pid_t child : g_children) ::kill(child, signal);
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "stopped";
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

void add_launch_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "launch",
      "Run mmdg as N processes of one run on this machine (torchrun's environment), e.g. "
      "mmdg launch --nproc 2 -- train --config mmdg_tiny ...");
  auto nproc = std::make_shared<int>(2);
  auto port = std::make_shared<int>(0);
  auto threads = std::make_shared<int>(0);
  auto grace = std::make_shared<double>(90);
  cmd->add_option("--nproc", *nproc, "processes to start (one per device; --device cuda takes LOCAL_RANK's)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  cmd->add_option("--master-port", *port, "port of the rendezvous on 127.0.0.1 (0 = a free one)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--threads-per-process", *threads,
                  "LibTorch threads of each process (0 = the cores divided by --nproc; a --threads in the command wins)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  cmd->add_option("--grace", *grace,
                  "seconds the other processes get to stop by themselves after one fails, before they are killed")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  auto command = std::make_shared<std::vector<std::string>>();
  cmd->add_option("command", *command, "after --: the mmdg arguments each process runs (e.g. train --config ...)");
  cmd->callback([=] {
    std::vector<std::string> args = *command;
    if (args.empty()) throw UsageError("launch: give the command to run after --, e.g. mmdg launch --nproc 2 -- train ...");
    bool has_threads = false;
    for (const auto& a : args) has_threads = has_threads || a == "--threads" || a.rfind("--threads=", 0) == 0;
    if (!has_threads) {
      const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
      const int per_process = *threads > 0 ? *threads : std::max(1, cores / *nproc);
      args.insert(args.begin(), {"--threads", std::to_string(per_process)});
    }
    const std::string exe = std::filesystem::read_symlink("/proc/self/exe").string();
    const int master_port = *port > 0 ? *port : dist::free_port();
    log::info("launch: " + std::to_string(*nproc) + " processes, rendezvous at 127.0.0.1:" + std::to_string(master_port));
    std::vector<std::string> argv_strings{exe};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_strings) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::signal(SIGINT, forward_signal);
    std::signal(SIGTERM, forward_signal);
    std::vector<pid_t> children;
    for (int rank = 0; rank < *nproc; ++rank) {
      const pid_t pid = ::fork();
      if (pid < 0) {
        forward_signal(SIGTERM);
        throw Error("launch: cannot start process " + std::to_string(rank));
      }
      if (pid == 0) {  // the child: torchrun's variables, then mmdg again
        ::setenv("RANK", std::to_string(rank).c_str(), 1);
        ::setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
        ::setenv("WORLD_SIZE", std::to_string(*nproc).c_str(), 1);
        ::setenv("LOCAL_WORLD_SIZE", std::to_string(*nproc).c_str(), 1);
        ::setenv("MASTER_ADDR", "127.0.0.1", 1);
        ::setenv("MASTER_PORT", std::to_string(master_port).c_str(), 1);
        ::execv(exe.c_str(), argv.data());
        std::_Exit(127);
      }
      children.push_back(pid);
      g_children = children;
    }
    // Wait for all; after the first failure the others get --grace seconds to stop on their own (a
    // dead peer ends their next collective at once, a hung one after --dist-timeout), then are killed.
    int first_failure = 0;
    std::size_t running = children.size();
    auto deadline = std::chrono::steady_clock::time_point::max();
    while (running > 0) {
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid == 0 || (pid < 0 && errno == EINTR)) {
        if (std::chrono::steady_clock::now() > deadline) {
          log::error("launch: processes still running " + std::to_string(*grace) + " s after the failure: killing them");
          forward_signal(SIGKILL);
          deadline = std::chrono::steady_clock::time_point::max();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        continue;
      }
      if (pid < 0) break;
      --running;
      int rank = 0;
      while (rank < static_cast<int>(children.size()) && children[static_cast<std::size_t>(rank)] != pid) ++rank;
      if (status != 0 && first_failure == 0) {
        first_failure = exit_code(status);
        log::error("launch: process " + std::to_string(rank) + " " + describe_status(status) +
                   (running > 0 ? "; waiting for the others to stop" : ""));
        deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<std::int64_t>(*grace * 1000));
      } else if (status != 0) {
        log::info("launch: process " + std::to_string(rank) + " " + describe_status(status));
      }
    }
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    g_children.clear();
    if (first_failure != 0) std::exit(first_failure);
  });
}

}  // namespace mmdg::cli
