#include "mmdg/train/resume_state.h"

#include <torch/torch.h>

#include <filesystem>
#include <sstream>

#include "mmdg/io/file_util.h"
#include "mmdg/train/strategy.h"
#include "mmdg/util/error.h"

namespace mmdg::train {
namespace {
at::Generator cpu_generator() { return at::detail::getDefaultCPUGenerator(); }
}  // namespace

void ResumeState::save(const std::string& path, const torch::optim::Optimizer& optimizer, const Strategy& strategy) const {
  torch::serialize::OutputArchive archive;
  optimizer.save(archive);
  archive.write("counters", torch::tensor({epoch, step_in_epoch, global_step, best_epoch}, torch::kLong));
  archive.write("floats", torch::tensor({best_hter, best_auc}, torch::kDouble));
  {
    auto gen = cpu_generator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    archive.write("rng", gen.get_state());
  }
  strategy.save(archive);
  // Serialized in memory first: LibTorch's archive writer aborts the process (an exception
  // escaping its destructor) when the disk fills up under it; our atomic writer fails cleanly,
  // leaves no temporary file and keeps the previous resume.pt.
  std::ostringstream bytes;
  archive.save_to(bytes);
  const std::string data = bytes.str();
  io::write_file_atomically(path, [&](std::ostream& out) { out.write(data.data(), static_cast<std::streamsize>(data.size())); });
}

ResumeState ResumeState::load(const std::string& path, torch::optim::Optimizer& optimizer, Strategy& strategy) {
  if (!std::filesystem::exists(path)) throw Error(path + ": missing (the run never saved a resumable state)");
  ResumeState s;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    optimizer.load(archive);
    torch::Tensor counters, floats, rng;
    archive.read("counters", counters);
    archive.read("floats", floats);
    archive.read("rng", rng);
    s.epoch = counters[0].item<std::int64_t>();
    s.step_in_epoch = counters[1].item<std::int64_t>();
    s.global_step = counters[2].item<std::int64_t>();
    s.best_epoch = counters[3].item<std::int64_t>();
    s.best_hter = floats[0].item<double>();
    s.best_auc = floats[1].item<double>();
    strategy.load(archive);
    auto gen = cpu_generator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(rng);
  } catch (const c10::Error& e) {
    throw Error(path + ": not a resume state of this version (" + e.what_without_backtrace() + ")");
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {  // LibTorch's other errors do not name the file
    throw Error(path + ": cannot read the resume state (" + e.what() + ")");
  }
  return s;
}

}  // namespace mmdg::train
