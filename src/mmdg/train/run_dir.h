// The files of one training run, named in one place:
//   config.json        resolved network / training / data options (also usable as --config)
//   log.jsonl          one JSON object per logged step and per epoch
//   train.log          the run's messages as text, time-stamped (debug level included; appended on resume)
//   last.safetensors   the latest weights (+ options), best.safetensors the selected ones
//   resume.pt          what a resumed run needs besides the weights (resume_state.h)
//   commit.json        the commit record of last.safetensors + resume.pt (state_commit.h)
//   done.json          written once the run is complete (best epoch and its validation metrics)
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace mmdg::train {

class RunDir {
 public:
  explicit RunDir(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }
  std::string config() const { return file("config.json"); }
  std::string log() const { return file("log.jsonl"); }
  std::string text_log() const { return file("train.log"); }
  std::string last() const { return file("last.safetensors"); }
  std::string best() const { return file("best.safetensors"); }
  std::string resume_state() const { return file("resume.pt"); }
  std::string commit() const { return file("commit.json"); }
  std::string done() const { return file("done.json"); }
  bool has_run() const;   // config.json exists
  bool is_done() const;   // done.json exists
  nlohmann::json done_record() const;  // done.json parsed; throws Error naming the file
  std::string file(const std::string& name) const;

 private:
  std::string path_;
};

}  // namespace mmdg::train
