// mmdg serve under load, on loopback: requests per second and p50 / p99 latency at 1 and 8
// concurrent clients (keep-alive connections, one synthetic triple as PNG files), against the
// in-process Predictor's own throughput on the same triple (batch 1 and batch --max-batch).
// Bounded in count and time: --requests per level, stopped early after --seconds.
//
//   build/mmdg_serve_bench --checkpoint CKPT [--requests 200] [--clients 1,8] [--max-batch 8] [--seconds 60]
#include <httplib.h>
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <thread>

#include "mmdg/data/image.h"
#include "mmdg/data/synth.h"
#include "mmdg/infer/predictor.h"
#include "mmdg/util/runtime.h"
#include "serve/server.h"

namespace {

using Clock = std::chrono::steady_clock;

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5))];
}

}  // namespace

int main(int argc, char** argv) {
  mmdg::keep_freed_memory();  // as the mmdg program (mmdg serve) sets malloc up
  CLI::App app("mmdg serve under load on loopback");
  std::string checkpoint;
  std::int64_t requests = 200, max_batch = 8;
  double seconds = 60;
  std::vector<int> levels{1, 8};
  app.add_option("--checkpoint", checkpoint, "checkpoint to serve")->required();
  app.add_option("--requests", requests, "requests per concurrency level")->capture_default_str();
  app.add_option("--clients", levels, "concurrency levels")->delimiter(',');
  app.add_option("--max-batch", max_batch, "the server's --max-batch")->capture_default_str();
  app.add_option("--seconds", seconds, "time limit per level")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  mmdg::infer::Predictor predictor(checkpoint);
  const auto S = predictor.options().backbone.image_size();
  // one synthetic triple, as PNG bytes
  mmdg::data::SynthOptions so;
  so.subjects = 3;
  so.live_videos = 1;
  so.attack_videos = 1;
  so.frames = 1;
  so.image_size = S;
  const auto sample = mmdg::data::generate_domain(so, 'C').front();
  const auto mats = mmdg::data::synth_images_8bit(sample);
  httplib::MultipartFormDataItems form;
  for (int m = 0; m < 3; ++m) {
    std::vector<unsigned char> png;
    cv::imencode(".png", mats[m], png);
    form.push_back({mmdg::model::modality_name(m), std::string(png.begin(), png.end()), "x.png", "image/png"});
  }
  nlohmann::json report{{"checkpoint", checkpoint}, {"network", predictor.options().network}, {"image_size", S},
                        {"intra_op_threads", torch::get_num_threads()}};

  // the Predictor in process: decoded crops to scores, as the server's network thread runs it
  // (plus the decoding and preparation the HTTP threads do)
  for (const std::int64_t batch : {std::int64_t{1}, max_batch}) {
    std::vector<std::array<cv::Mat, 3>> samples(static_cast<std::size_t>(batch), mats);
    predictor.predict_images(samples);  // warm-up
    const auto start = Clock::now();
    std::int64_t done = 0;
    while (done < requests && std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
      predictor.predict_images(samples);
      done += batch;
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    report["predictor"]["batch_" + std::to_string(batch)] = {{"samples", done}, {"samples_per_s", done / elapsed},
                                                              {"ms_per_sample", 1000 * elapsed / done}};
  }

  mmdg::serve::ServeOptions options;
  options.port = 0;
  options.max_batch = max_batch;
  options.workers = std::max(8, *std::max_element(levels.begin(), levels.end()));
  options.queue = 1024;
  mmdg::serve::Server server(predictor, options, checkpoint);
  const int port = server.bind();
  std::thread running([&] { server.run(); });
  for (const int clients : levels) {
    std::vector<std::vector<double>> latencies(static_cast<std::size_t>(clients));
    std::atomic<std::int64_t> next{0}, failed{0};
    {  // warm-up: one request per connection
      httplib::Client c("127.0.0.1", port);
      c.Post("/v1/predict", form);
    }
    const auto batches_before = server.batcher().batches(), scored_before = server.batcher().scored();
    const auto start = Clock::now();
    std::vector<std::thread> threads;
    for (int k = 0; k < clients; ++k)
      threads.emplace_back([&, k] {
        httplib::Client c("127.0.0.1", port);
        c.set_keep_alive(true);
        c.set_tcp_nodelay(true);
        c.set_read_timeout(120);
        while (next++ < requests && std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
          const auto t0 = Clock::now();
          const auto res = c.Post("/v1/predict", form);
          if (!res || res->status != 200) ++failed;
          latencies[static_cast<std::size_t>(k)].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        }
      });
    for (auto& t : threads) t.join();
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    std::vector<double> all;
    for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
    const auto batches = server.batcher().batches() - batches_before;
    const auto scored = server.batcher().scored() - scored_before;
    report["serve"]["clients_" + std::to_string(clients)] = {
        {"requests", all.size()},      {"failed", failed.load()},
        {"requests_per_s", all.size() / elapsed}, {"p50_ms", percentile(all, 0.5)},
        {"p99_ms", percentile(all, 0.99)}, {"mean_batch", batches ? static_cast<double>(scored) / batches : 0.0}};
  }
  server.stop();
  running.join();
  std::cout << report.dump(1) << "\n";
  return 0;
}
