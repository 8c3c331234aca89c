// A scores CSV (`mmdg eval --scores`): header, RFC 4180 quoting, label / score / video / attack
// columns; what is read is then evaluated as `mmdg eval --scores [--per-video]` does.
#include "fuzz/fuzz_input.h"
#include "mmdg/eval/report.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = mmdg::fuzz::write_input(data, size, ".csv");
  mmdg::fuzz::expect_clean(path, [&] {
    auto scores = mmdg::eval::read_scores_csv(path);
    // The report's own errors (e.g. no live sample) concern the scores, not the file.
    mmdg::fuzz::expect_clean("", [&] { mmdg::eval::make_report(scores, std::nullopt, 0.5); });
    if (!scores.videos.empty())
      mmdg::fuzz::expect_clean("", [&] {
        mmdg::eval::make_report(mmdg::eval::average_by_video(scores, scores.videos), std::nullopt, 0.5);
      });
  });
  return 0;
}
