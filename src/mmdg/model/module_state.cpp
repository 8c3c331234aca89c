#include "mmdg/model/module_state.h"

#include <torch/torch.h>

#include <sstream>

#include "mmdg/util/error.h"

namespace mmdg::model {

std::string LoadReport::describe(std::size_t limit) const {
  std::ostringstream out;
  const auto list = [&](const char* title, const std::vector<std::string>& names) {
    if (names.empty()) return;
    out << "  " << names.size() << " " << title << ":";
    for (std::size_t i = 0; i < names.size() && i < limit; ++i) out << "\n    " << names[i];
    if (names.size() > limit) out << "\n    ... and " << names.size() - limit << " more";
    out << "\n";
  };
  list("missing (in the model, not in the file)", missing);
  list("unexpected (in the file, not in the model)", unexpected);
  list("with a different shape", mismatched);
  return out.str();
}

io::StateDict module_state_dict(const torch::nn::Module& module) {
  io::StateDict out;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) out.insert(p.key(), p.value());
  for (const auto& b : module.named_buffers(/*recurse=*/true)) out.insert(b.key(), b.value());
  return out;
}

LoadReport load_state_dict(torch::nn::Module& module, const io::StateDict& state, bool strict,
                           const std::string& context) {
  LoadReport report;
  const io::StateDict targets = module_state_dict(module);
  std::vector<std::pair<at::Tensor, at::Tensor>> copies;  // (destination, source)
  for (const auto& target : targets) {
    const at::Tensor* source = state.find(target.key());
    if (source == nullptr) {
      report.missing.push_back(target.key());
    } else if (source->sizes() != target.value().sizes()) {
      report.mismatched.push_back(target.key() + ": file " + c10::str(source->sizes()) + " vs model " +
                                  c10::str(target.value().sizes()));
    } else {
      copies.emplace_back(target.value(), *source);
    }
  }
  for (const auto& item : state)
    if (!targets.contains(item.key())) report.unexpected.push_back(item.key());
  if (strict && !report.complete())
    throw Error(context + ": weights do not match the model:\n" + report.describe() +
                "HINT: check the model config (--config) matches the file; use the non-strict "
                "option only for heads that are meant to be replaced");
  torch::NoGradGuard no_grad;
  for (auto& [dst, src] : copies) dst.copy_(src.to(dst.device(), dst.scalar_type()));
  report.loaded = copies.size();
  return report;
}

}  // namespace mmdg::model
