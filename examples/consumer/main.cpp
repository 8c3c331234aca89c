// Scores one RGB / depth / IR face triple with a trained mmdg checkpoint, using the input
// pipeline and decision threshold the checkpoint records, and prints the result as JSON.
//   score_face CHECKPOINT RGB DEPTH IR
#include <opencv2/imgcodecs.hpp>

#include <iostream>
#include <nlohmann/json.hpp>

#include "mmdg/infer/predictor.h"
#include "mmdg/util/error.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: score_face CHECKPOINT RGB DEPTH IR\n";
    return 2;
  }
  try {
    mmdg::infer::PredictorOptions options;
    options.estimator = mmdg::model::Estimator::Expected;  // deterministic scores
    mmdg::infer::Predictor predictor(argv[1], options);
    for (const auto& note : predictor.notes()) std::cerr << note << "\n";
    // the camera frames (face crops) as an application holds them: cv::Mat, BGR / 8- or 16-bit
    std::array<cv::Mat, 3> sample;
    for (int m = 0; m < 3; ++m) {
      sample[m] = cv::imread(argv[2 + m], cv::IMREAD_ANYDEPTH | cv::IMREAD_ANYCOLOR);
      if (sample[m].empty()) throw mmdg::Error(std::string(argv[2 + m]) + ": cannot read the image");
    }
    const auto p = predictor.predict_images({sample});
    nlohmann::json out = {{"live_probability", p.live_probability[0].item<double>()},
                          {"decision", p.live[0] ? "live" : "spoof"},
                          {"threshold", predictor.scoring().threshold},
                          {"mean_reliability",
                           {{"rgb", p.mean_reliability[0][0].item<double>()},
                            {"depth", p.mean_reliability[1][0].item<double>()},
                            {"ir", p.mean_reliability[2][0].item<double>()}}}};
    std::cout << out.dump(1) << "\n";
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
