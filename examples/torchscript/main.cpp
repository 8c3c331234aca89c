// A detector exported by mmdg.export_torchscript, run by a program that links only LibTorch (no
// mmdg): reads the deployment record stored in the archive, scores the inputs of a tensor file
// and prints one JSON line per sample.
//
//   mmdg_torchscript_example detector.pt inputs.pt
//
// inputs.pt: a tuple (rgb, depth, ir) of (B, 3, S, S) float tensors saved by Python's torch.save,
// already resized and normalized as the record's "mean" / "std" say (B = the record's batch_size).
#include <torch/script.h>
#include <torch/serialize.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <regex>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: " << argv[0] << " DETECTOR.pt INPUTS.pt\n";
    return 2;
  }
  try {
    torch::jit::ExtraFilesMap extra{{"mmdg_deployment.json", ""}};
    torch::jit::Module detector = torch::jit::load(argv[1], torch::kCPU, extra);
    detector.eval();
    const std::string& record = extra["mmdg_deployment.json"];
    std::smatch m;  // the threshold, read without a JSON library (this program links LibTorch only)
    if (!std::regex_search(record, m, std::regex(R"("threshold":\s*([-0-9.eE+]+))"))) {
      std::cerr << argv[1] << ": no threshold in mmdg_deployment.json\n";
      return 1;
    }
    const double threshold = std::stod(m[1]);
    std::ifstream in(argv[2], std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
    const auto inputs = torch::pickle_load(bytes).toTuple();
    torch::NoGradGuard no_grad;
    const auto outputs = detector.forward({inputs->elements()[0], inputs->elements()[1], inputs->elements()[2]}).toTuple();
    const auto live = outputs->elements()[0].toTensor();
    const auto reliability = outputs->elements()[1].toTensor();
    for (int64_t i = 0; i < live.size(0); ++i) {
      const double p = live[i].item<double>();
      std::cout.precision(17);
      std::cout << "{\"live_probability\": " << p << ", \"decision\": \"" << (p >= threshold ? "live" : "spoof")
                << "\", \"reliability\": [" << reliability[i][0].item<double>() << ", " << reliability[i][1].item<double>()
                << ", " << reliability[i][2].item<double>() << "]}\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
