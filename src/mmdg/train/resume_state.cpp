#include "mmdg/train/resume_state.h"

#include <torch/torch.h>

#include <filesystem>
#include <sstream>

#include "mmdg/io/file_util.h"
#include "mmdg/train/strategy.h"
#include "mmdg/util/error.h"
#include "mmdg/util/log.h"

namespace mmdg::train {

std::vector<std::pair<std::string, at::Generator>> generators_of(c10::Device device) {
  std::vector<std::pair<std::string, at::Generator>> out{{"rng", at::detail::getDefaultCPUGenerator()}};
  if (device.is_cuda()) out.emplace_back("rng_cuda", at::globalContext().defaultGenerator(device));
  return out;
}

void ResumeState::save(const std::string& path, const torch::optim::Optimizer& optimizer, const Strategy& strategy,
                       c10::Device device) const {
  torch::serialize::OutputArchive archive;
  optimizer.save(archive);
  archive.write("counters", torch::tensor({epoch, step_in_epoch, global_step, best_epoch}, torch::kLong));
  archive.write("floats", torch::tensor({best_hter, best_auc}, torch::kDouble));
  archive.write("plateau", torch::tensor({best_val_loss, static_cast<double>(best_val_loss_epoch)}, torch::kDouble));
  for (auto& [name, gen] : generators_of(device)) {
    std::lock_guard<std::mutex> lock(gen.mutex());
    archive.write(name, gen.get_state());
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

ResumeState ResumeState::load(const std::string& path, torch::optim::Optimizer& optimizer, Strategy& strategy,
                              c10::Device device) {
  if (!std::filesystem::exists(path)) throw Error(path + ": missing (the run never saved a resumable state)");
  ResumeState s;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path, device);  // the optimizer's moments and the strategy's tensors onto the run's device
    optimizer.load(archive);
    torch::Tensor counters, floats;
    archive.read("counters", counters);
    archive.read("floats", floats);
    s.epoch = counters[0].item<std::int64_t>();
    s.step_in_epoch = counters[1].item<std::int64_t>();
    s.global_step = counters[2].item<std::int64_t>();
    s.best_epoch = counters[3].item<std::int64_t>();
    s.best_hter = floats[0].item<double>();
    s.best_auc = floats[1].item<double>();
    if (torch::Tensor plateau; archive.try_read("plateau", plateau)) {  // absent in states of earlier versions
      s.best_val_loss = plateau[0].item<double>();
      s.best_val_loss_epoch = static_cast<std::int64_t>(plateau[1].item<double>());
    }
    strategy.load(archive);
    for (auto& [name, gen] : generators_of(device)) {
      torch::Tensor state;
      if (!archive.try_read(name, state)) {
        if (name == "rng") throw Error(path + ": holds no state of the CPU generator ('rng')");
        log::info(path + ": no " + name + " generator state (the run was saved on another kind of device); " +
                  "that generator starts from the run's seed, so the resumed run's draws differ from an " +
                  "uninterrupted run's");
        continue;
      }
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(state.to(torch::kCPU));  // generator states are CPU byte tensors
    }
    if (!device.is_cuda()) {
      torch::Tensor unused;
      if (archive.try_read("rng_cuda", unused))
        log::info(path + ": the saved CUDA generator state is not used on " + device.str() +
                  " (the resumed run's dropout draws differ from the GPU run's)");
    }
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
