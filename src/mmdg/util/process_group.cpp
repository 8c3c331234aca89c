#include "mmdg/util/process_group.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <torch/torch.h>

#include <cerrno>
#include <cstdlib>

#ifdef MMDG_WITH_GLOO
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1  // LibTorch's headers declare ProcessGroupGloo only with it
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

#include "mmdg/util/error.h"

namespace mmdg::dist {
namespace {

// An integer environment variable in [low, high], or `fallback` when unset.
int int_variable(const char* name, int fallback, int low, int high) {
  const char* value = std::getenv(name);
  if (!value || !*value) return fallback;
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(value, &end, 10);
  if (errno != 0 || *end != '\0' || v < low || v > high)
    throw UsageError(std::string("environment variable ") + name + "='" + value + "': expected an integer in [" +
                     std::to_string(low) + ", " + std::to_string(high) + "]");
  return static_cast<int>(v);
}

}  // namespace

Environment environment() {
  Environment e;
  e.world_size = int_variable("WORLD_SIZE", 1, 1, 65536);
  e.rank = int_variable("RANK", 0, 0, 65535);
  if (e.rank >= e.world_size)
    throw UsageError("environment variable RANK=" + std::to_string(e.rank) + ": must be below WORLD_SIZE=" +
                     std::to_string(e.world_size));
  e.local_rank = int_variable("LOCAL_RANK", e.rank, 0, 65535);
  e.master_port = int_variable("MASTER_PORT", e.master_port, 1, 65535);
  if (const char* addr = std::getenv("MASTER_ADDR"); addr && *addr) e.master_addr = addr;
  return e;
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error("cannot open a socket to find a free port on 127.0.0.1; give the port (--master-port)");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(fd);
  if (!ok) throw Error("cannot find a free port on 127.0.0.1; give the port (--master-port)");
  return ntohs(address.sin_port);
}

#ifdef MMDG_WITH_GLOO

bool available() { return true; }

struct ProcessGroup::State {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

namespace {
// Runs a c10d operation, adding its time to `seconds` and turning its failure into an Error that
// names the rank and the operation.
template <class F>
void collective(int rank, const std::string& what, std::chrono::milliseconds timeout, double& seconds, F&& f) {
  const auto start = std::chrono::steady_clock::now();
  try {
    f();
  } catch (const std::exception& e) {
    const std::string why = e.what();
    throw Error("rank " + std::to_string(rank) + ": " + what + " failed (another rank stopped, or did not answer within " +
                std::to_string(timeout.count() / 1000) + " s): " + why.substr(0, why.find('\n')));
  }
  seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

ProcessGroup::ProcessGroup(const Environment& env, std::chrono::milliseconds timeout)
    : state_(std::make_unique<State>()), rank_(env.rank), size_(env.world_size), timeout_(timeout) {
  const std::string where = env.master_addr + ":" + std::to_string(env.master_port);
  collective(rank_, "joining the group at " + where, timeout, seconds_, [&] {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(env.master_port);
    store_options.isServer = env.rank == 0;
    store_options.numWorkers = env.world_size;
    store_options.waitWorkers = true;
    store_options.timeout = timeout;
    state_->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, store_options);
    auto options = c10d::ProcessGroupGloo::Options::create();
    options->timeout = timeout;
    // the interface that reaches the master: loopback for one machine, the routed one otherwise
    options->devices.push_back(env.master_addr == "127.0.0.1" || env.master_addr == "localhost"
                                   ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                   : c10d::ProcessGroupGloo::createDefaultDevice());
    state_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(state_->store, env.rank, env.world_size, options);
  });
}

ProcessGroup::~ProcessGroup() = default;

void ProcessGroup::sum(const std::vector<torch::Tensor>& tensors) const {
  torch::NoGradGuard no_grad;
  // the copies into and out of the one buffer count as the collective's time too
  collective(rank_, "all-reduce", timeout_, seconds_, [&] {
    std::vector<torch::Tensor> flat;
    for (const auto& t : tensors) flat.push_back(t.detach().reshape(-1).to(torch::kCPU, torch::kDouble));
    std::vector<at::Tensor> buffer{torch::cat(flat)};
    state_->group->allreduce(buffer)->wait(timeout_);
    std::int64_t offset = 0;
    for (const auto& t : tensors) {
      const auto n = t.numel();
      t.detach().copy_(buffer[0].slice(0, offset, offset + n).view(t.sizes()));  // back to its device and dtype
      offset += n;
    }
  });
}

struct PendingSum::Work {
  c10::intrusive_ptr<c10d::Work> work;
  const ProcessGroup* group = nullptr;
  std::string what;
};

PendingSum ProcessGroup::start_sum(const torch::Tensor& buffer, const std::string& what) const {
  TORCH_CHECK(buffer.device().is_cpu() && buffer.is_contiguous(), "start_sum: a contiguous CPU buffer");
  PendingSum pending;
  pending.work_ = std::make_unique<PendingSum::Work>();
  pending.work_->group = this;
  pending.work_->what = what;
  std::vector<at::Tensor> buffers{buffer};
  double enqueueing = 0;  // not the caller's wait (and it may run on the autograd engine's thread)
  collective(rank_, what, timeout_, enqueueing, [&] { pending.work_->work = state_->group->allreduce(buffers); });
  return pending;
}

void PendingSum::wait() {
  if (!work_) return;
  const ProcessGroup& g = *work_->group;
  collective(g.rank_, work_->what, g.timeout_, g.seconds_, [&] { work_->work->wait(g.timeout_); });
  work_.reset();
}

void ProcessGroup::barrier() const {
  collective(rank_, "barrier", timeout_, seconds_, [&] { state_->group->barrier()->wait(timeout_); });
}

#else  // built without Gloo

bool available() { return false; }

struct ProcessGroup::State {};

ProcessGroup::ProcessGroup(const Environment& env, std::chrono::milliseconds timeout)
    : rank_(env.rank), size_(env.world_size), timeout_(timeout) {
  throw Error("WORLD_SIZE=" + std::to_string(env.world_size) +
              ": this mmdg was built without PyTorch's Gloo backend, so it runs as one process only. HINT: install "
              "libgloo-dev (scripts/setup.sh does) and configure the build again");
}
ProcessGroup::~ProcessGroup() = default;
void ProcessGroup::sum(const std::vector<torch::Tensor>&) const {}
void ProcessGroup::barrier() const {}
struct PendingSum::Work {};
PendingSum ProcessGroup::start_sum(const torch::Tensor&, const std::string&) const { return {}; }
void PendingSum::wait() {}

#endif

PendingSum::PendingSum() = default;
PendingSum::~PendingSum() = default;
PendingSum::PendingSum(PendingSum&&) noexcept = default;
PendingSum& PendingSum::operator=(PendingSum&&) noexcept = default;

void ProcessGroup::average(const std::vector<torch::Tensor>& tensors) const {
  sum(tensors);
  torch::NoGradGuard no_grad;
  for (const auto& t : tensors) t.detach().div_(size_);
}

}  // namespace mmdg::dist
