// `mmdg serve`: a trained detector as a local HTTP service (docs/serve.md).
//
//   POST /v1/predict     multipart/form-data: the files rgb, depth, ir (PNG, JPEG, BMP) and the
//                        options missing, maps, detect_face (query parameters or text fields);
//                        answers the JSON of `mmdg predict --json` (+ "face", + "maps")
//   GET  /v1/model       the checkpoint's network, deployment record, scoring, versions, limits
//   GET  /v1/samples     a few synthetic-benchmark triples (PNG, base64) to try the page with
//   GET  /healthz        "ok"
//   GET  /               the page: drop a triple, see the score, the decision and the maps
//
// Requests are decoded by the HTTP threads (--workers) and queued for one network thread, which
// scores the queued samples of one kind (the same missing modalities, maps or not) together, up
// to --max-batch at a time: under load the queue fills while the network runs and the next
// forward takes it whole. A full queue (--queue) answers 503 at once. A sample's score does not
// depend on the batch it was scored in (the estimator's draws are keyed by the sample).
#pragma once
#include <torch/types.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "mmdg/infer/predictor.h"

namespace mmdg::serve {

struct ServeOptions {
  std::string host = "127.0.0.1";
  std::int64_t port = 8000;
  std::int64_t workers = 8;       // HTTP threads: each holds one connection while it lasts
  std::int64_t max_batch = 8;
  std::int64_t queue = 64;        // samples waiting for the network; beyond, 503
  std::int64_t batch_wait_ms = 0;
  double max_body_mb = 32;
  double max_image_mpixels = 16;
  std::string token;
  std::string token_file;
  std::int64_t timeout_s = 10;    // reading or writing one request on a connection

  template <class V>
  void visit(V&& v) {
    v("host", host, "address to listen on (127.0.0.1: this machine only; 0.0.0.0: every interface, see docs/serve.md)");
    v("port", port, "TCP port (0: any free one; the one bound is printed)");
    v("workers", workers, "HTTP threads (each serves one connection at a time: decoding, face detection, answering)");
    v("max_batch", max_batch, "samples scored by one forward at most");
    v("queue", queue, "samples waiting for the network at most; a request beyond gets 503");
    v("batch_wait_ms", batch_wait_ms,
      "wait this long for more samples before a forward that is not full (0: take what is queued)");
    v("max_body_mb", max_body_mb, "largest request body in MiB (beyond: 413)");
    v("max_image_mpixels", max_image_mpixels, "largest image in megapixels, from its header before decoding (beyond: 413)");
    v("token", token, "require 'Authorization: Bearer TOKEN' on /v1/ (visible in the process list: prefer --token-file)");
    v("token_file", token_file, "read the token from this file (its first line)");
    v("timeout_s", timeout_s, "seconds a connection may take to send a request or read the answer");
  }
  void validate() const;  // UsageError naming the option
};

// One sample for the network thread: normalized inputs (3, S, S), zeros for a missing modality.
struct Job {
  std::array<torch::Tensor, 3> inputs;
  std::array<bool, 3> missing{false, false, false};
  bool maps = false;  // attention maps wanted (its batch runs with them)
};

// What the network thread gives back: the prediction of the batch the sample was in, and where.
struct Scored {
  std::shared_ptr<const infer::Prediction> batch;
  std::int64_t index = 0;
  std::int64_t batch_size = 0;
};

// The queue in front of the network and the thread that empties it.
class Batcher {
 public:
  Batcher(infer::Predictor& predictor, std::int64_t max_batch, std::int64_t capacity, std::chrono::milliseconds wait);
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // nullopt when the queue is full or the batcher is stopping (the caller answers 503).
  std::optional<std::future<Scored>> submit(Job job);
  // Holds the network thread between batches (the queue still fills); for tests and maintenance.
  void pause();
  void resume();
  // Stops the thread; jobs still queued fail with an Error ("the server is stopping").
  void stop();

  std::int64_t queued() const;
  std::int64_t batches() const;  // forwards run
  std::int64_t scored() const;   // samples scored

 private:
  struct Pending {
    Job job;
    std::promise<Scored> done;
  };
  void run();

  infer::Predictor& predictor_;
  const std::int64_t max_batch_, capacity_;
  const std::chrono::milliseconds wait_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Pending> queue_;
  bool paused_ = false, stopping_ = false;
  std::int64_t batches_ = 0, scored_ = 0;
  std::thread thread_;
};

class Server {
 public:
  // `checkpoint` is only named in /v1/model.
  Server(infer::Predictor& predictor, const ServeOptions& options, const std::string& checkpoint);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the address; returns the port (the one chosen for --port 0). Throws Error when it cannot.
  int bind();
  // Serves until stop(); then the requests in progress are answered and the network thread ends.
  void run();
  // From any thread (a signal-waiting one, a test): stops accepting and makes run() return.
  void stop();

  Batcher& batcher() { return batcher_; }
  const nlohmann::json& model_record() const { return model_; }

 private:
  struct Http;
  infer::Predictor& predictor_;
  ServeOptions options_;
  nlohmann::json model_;
  Batcher batcher_;
  std::unique_ptr<Http> http_;
  std::atomic<bool> started_{false}, finished_{false}, stopping_{false};
};

}  // namespace mmdg::serve
