// Options JSON as found in a config file (`--config`) or a checkpoint's metadata: the bounded JSON
// parser, the declared-once settings reader and the network options' validation (ranges, overflow
// of the token count), then a deployment record as stored beside the weights.
#include "fuzz/fuzz_input.h"
#include "mmdg/infer/deployment.h"
#include "mmdg/model/network_options.h"
#include "mmdg/util/json_text.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string context = "fuzz_config.json";
  mmdg::fuzz::expect_clean(context, [&] {
    const auto j = mmdg::parse_json(text, context);
    mmdg::fuzz::expect_clean(context, [&] { mmdg::model::NetworkOptions::from_json(j, context).validate(); });
    mmdg::fuzz::expect_clean(context, [&] { mmdg::infer::Deployment::from_json(j, 224, context); });
  });
  return 0;
}
