#include "serve/server.h"

#include <httplib.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <sys/socket.h>

#include <exception>
#include <filesystem>
#include <fstream>
#include <opencv2/core/version.hpp>
#include <opencv2/imgcodecs.hpp>

#include "mmdg/data/image.h"
#include "mmdg/data/synth.h"
#include "mmdg/util/build_info.h"
#include "mmdg/util/error.h"
#include "mmdg/util/log.h"
#include "mmdg/util/settings.h"
#include "mmdg/viz/overlay.h"
#include "serve/request.h"
#ifdef MMDG_HAVE_OBJDETECT
#include "mmdg/data/face_crop.h"
#endif

namespace mmdg::serve {

extern const char* const kPage;  // the page served at / (serve/page.html, embedded by the build)

void ServeOptions::validate() const {
  if (host.empty()) throw UsageError("option --host: empty");
  if (port < 0 || port > 65535) throw UsageError("option --port: must be in [0, 65535]");
  if (workers < 1 || workers > 256) throw UsageError("option --workers: must be in [1, 256]");
  if (max_batch < 1 || max_batch > 4096) throw UsageError("option --max-batch: must be in [1, 4096]");
  if (queue < 1 || queue > 1000000) throw UsageError("option --queue: must be in [1, 1000000]");
  if (batch_wait_ms < 0 || batch_wait_ms > 10000) throw UsageError("option --batch-wait-ms: must be in [0, 10000]");
  if (!(max_body_mb > 0 && max_body_mb <= 1024)) throw UsageError("option --max-body-mb: must be in (0, 1024]");
  if (!(max_image_mpixels > 0 && max_image_mpixels <= 1024))
    throw UsageError("option --max-image-mpixels: must be in (0, 1024]");
  if (!token.empty() && !token_file.empty()) throw UsageError("options --token and --token-file: give one");
  if (timeout_s < 1 || timeout_s > 3600) throw UsageError("option --timeout-s: must be in [1, 3600]");
}

// ---- the queue in front of the network ------------------------------------------------------

Batcher::Batcher(infer::Predictor& predictor, std::int64_t max_batch, std::int64_t capacity, std::chrono::milliseconds wait)
    : predictor_(predictor), max_batch_(max_batch), capacity_(capacity), wait_(wait), thread_([this] { run(); }) {}

Batcher::~Batcher() { stop(); }

std::optional<std::future<Scored>> Batcher::submit(Job job) {
  std::future<Scored> result;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || static_cast<std::int64_t>(queue_.size()) >= capacity_) return std::nullopt;
    queue_.push_back(Pending{std::move(job), {}});
    result = queue_.back().done.get_future();
  }
  changed_.notify_all();
  return result;
}

void Batcher::pause() {
  std::lock_guard<std::mutex> lock(mutex_);
  paused_ = true;
}

void Batcher::resume() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    paused_ = false;
  }
  changed_.notify_all();
}

void Batcher::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::int64_t Batcher::queued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<std::int64_t>(queue_.size());
}
std::int64_t Batcher::batches() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return batches_;
}
std::int64_t Batcher::scored() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return scored_;
}

void Batcher::run() {
  const auto same_kind = [](const Job& a, const Job& b) { return a.missing == b.missing && a.maps == b.maps; };
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    changed_.wait(lock, [&] { return stopping_ || (!paused_ && !queue_.empty()); });
    if (stopping_) break;
    const auto ready = [&] {  // the queued samples of the first one's kind
      std::int64_t n = 0;
      for (const auto& p : queue_) n += same_kind(p.job, queue_.front().job) ? 1 : 0;
      return n;
    };
    if (wait_.count() > 0 && ready() < max_batch_)
      changed_.wait_for(lock, wait_, [&] { return stopping_ || ready() >= max_batch_; });
    if (stopping_) break;
    std::vector<Pending> batch;
    for (auto it = queue_.begin(); it != queue_.end() && static_cast<std::int64_t>(batch.size()) < max_batch_;) {
      if (batch.empty() || same_kind(it->job, batch.front().job)) {
        batch.push_back(std::move(*it));
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    lock.unlock();
    std::shared_ptr<const infer::Prediction> prediction;
    std::exception_ptr failure;
    try {
      std::array<std::vector<torch::Tensor>, 3> inputs;
      for (const auto& p : batch)
        for (int m = 0; m < 3; ++m) inputs[m].push_back(p.job.inputs[m]);
      prediction = std::make_shared<const infer::Prediction>(
          predictor_.predict(torch::stack(inputs[0]), torch::stack(inputs[1]), torch::stack(inputs[2]),
                             batch.front().job.missing, batch.front().job.maps));
    } catch (...) {
      failure = std::current_exception();
    }
    // counted before anyone is answered: a client that has its answer sees its batch in batches()
    lock.lock();
    ++batches_;
    scored_ += static_cast<std::int64_t>(batch.size());
    lock.unlock();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (failure)
        batch[i].done.set_exception(failure);
      else
        batch[i].done.set_value(Scored{prediction, static_cast<std::int64_t>(i), static_cast<std::int64_t>(batch.size())});
    }
    lock.lock();
  }
  for (auto& p : queue_) p.done.set_exception(std::make_exception_ptr(Error("the server is stopping")));
  queue_.clear();
}

// ---- HTTP ---------------------------------------------------------------------------------

namespace {

const char* reason(int status) {
  switch (status) {
    case 400: return "bad request";
    case 401: return "unauthorized";
    case 404: return "not found";
    case 405: return "method not allowed";
    case 413: return "payload too large";
    case 414: return "URI too long";
    case 415: return "unsupported media type";
    case 422: return "no face found";
    case 431: return "request header fields too large";
    case 500: return "internal server error";
    case 501: return "not implemented";
    case 503: return "service unavailable";
    default: return "error";
  }
}

void answer_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(nlohmann::json{{"error", message}, {"status", status}}.dump(), "application/json");
}

std::string read_token(const ServeOptions& o) {
  if (o.token_file.empty()) return o.token;
  std::ifstream in(o.token_file);
  if (!in) throw Error(o.token_file + ": cannot read the token file");
  std::string token;
  std::getline(in, token);
  if (!token.empty() && token.back() == '\r') token.pop_back();
  if (token.empty()) throw Error(o.token_file + ": the token file's first line is empty");
  return token;
}

nlohmann::json describe_model(const infer::Predictor& predictor, const ServeOptions& o, const std::string& checkpoint) {
  const auto S = predictor.options().backbone.image_size();
  return {{"checkpoint", std::filesystem::path(checkpoint).filename().string()},
          {"network", predictor.options().network},
          {"estimator", enum_name(predictor.options().estimator)},
          {"image_size", S},
          {"scoring",
           {{"threshold", predictor.scoring().threshold},
            {"threshold_source", predictor.scoring().threshold_source},
            {"normalization", enum_name(predictor.scoring().normalization)}}},
          {"deployment", predictor.stored().recorded ? predictor.stored().to_json(S) : nlohmann::json()},
          {"options", settings::to_json(predictor.options())},
          {"uncertainty", predictor.network().capabilities().uncertainty},
          {"face_detection",
#ifdef MMDG_HAVE_OBJDETECT
           true
#else
           false
#endif
          },
          {"versions",
           {{"mmdg", std::string(MMDG_VERSION_STRING) + " (" + MMDG_GIT_DESCRIBE + ")"},
            {"libtorch", TORCH_VERSION},
            {"opencv", CV_VERSION},
            {"cpp-httplib", CPPHTTPLIB_VERSION}}},
          {"limits",
           {{"max_batch", o.max_batch},
            {"queue", o.queue},
            {"max_body_mb", o.max_body_mb},
            {"max_image_mpixels", o.max_image_mpixels}}}};
}

// An 8-bit image (BGR or grey) as a PNG data URL.
std::string png_data_url(const cv::Mat& image) {
  const auto png = viz::encode_png(image);
  return "data:image/png;base64," + base64(png.data(), png.size());
}

// Twelve triples of the synthetic benchmark (three CeFA-like subjects: one live video and three
// attacks each, first frames), generated once at the network's input size.
nlohmann::json make_samples(std::int64_t image_size) {
  data::SynthOptions o;
  o.subjects = 3;
  o.live_videos = 1;
  o.attack_videos = 3;
  o.frames = 1;
  o.image_size = image_size;
  nlohmann::json samples = nlohmann::json::array();
  for (const auto& s : data::generate_domain(o, 'C')) {
    const auto images = data::synth_images_8bit(s);
    samples.push_back({{"name", std::string(s.label == 1 ? "live" : "attack") + ": " + s.kind + " (subject " +
                                    std::to_string(s.subject) + ")"},
                       {"label", s.label == 1 ? "live" : "spoof"},
                       {"kind", s.kind},
                       {"rgb", png_data_url(images[0])},
                       {"depth", png_data_url(images[1])},
                       {"ir", png_data_url(images[2])}});
  }
  return samples;
}

}  // namespace

struct Server::Http {
  httplib::Server server;
  std::string token;
  RequestLimits limits;
  std::mutex samples_mutex;
  std::string samples;  // JSON, made on the first request
#ifdef MMDG_HAVE_OBJDETECT
  std::mutex face_mutex;  // one cascade, used by one thread at a time
  std::optional<data::FaceCropper> cropper;
#endif
};

namespace {
const ServeOptions& validated(const ServeOptions& o) {
  o.validate();
  return o;
}
}  // namespace

Server::Server(infer::Predictor& predictor, const ServeOptions& options, const std::string& checkpoint)
    : predictor_(predictor),
      options_(validated(options)),
      model_(describe_model(predictor, options, checkpoint)),
      batcher_(predictor, options.max_batch, options.queue, std::chrono::milliseconds(options.batch_wait_ms)),
      http_(std::make_unique<Http>()) {
  auto& h = *http_;
  h.token = read_token(options_);
  h.limits.max_pixels = static_cast<std::int64_t>(options_.max_image_mpixels * 1e6);
  auto& svr = h.server;
  const auto workers = static_cast<std::size_t>(options_.workers);
  svr.new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  svr.set_payload_max_length(static_cast<std::size_t>(options_.max_body_mb * 1024 * 1024));
  svr.set_read_timeout(static_cast<time_t>(options_.timeout_s));
  svr.set_write_timeout(static_cast<time_t>(options_.timeout_s));
  svr.set_keep_alive_timeout(5);
  // answers go out at once: with Nagle's algorithm, a client's delayed ACK held every answer
  // about 40 ms (measured: p50 87 ms for a 2.4 ms forward at one client)
  svr.set_tcp_nodelay(true);
  // SO_REUSEADDR only: cpp-httplib's default adds SO_REUSEPORT, with which a second server on a
  // port in use starts silently and the kernel splits the connections between the two
  svr.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });

  // Every refusal, httplib's own included (413 body too large, 404, 400 unparsable), as JSON.
  svr.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) answer_error(res, res.status, reason(res.status));
  });
  svr.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr e) {
    std::string message = "unknown error";
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      message = x.what();
    } catch (...) {
    }
    log::error("serve: " + req.method + " " + req.path + ": " + message);
    answer_error(res, 500, message);
  });
  svr.set_pre_routing_handler([&h](const httplib::Request& req, httplib::Response& res) {
    if (h.token.empty() || req.path.rfind("/v1/", 0) != 0) return httplib::Server::HandlerResponse::Unhandled;
    if (token_matches(req.get_header_value("Authorization"), h.token)) return httplib::Server::HandlerResponse::Unhandled;
    res.set_header("WWW-Authenticate", "Bearer");
    answer_error(res, 401, "this server needs 'Authorization: Bearer <token>' (mmdg serve --token)");
    return httplib::Server::HandlerResponse::Handled;
  });

  svr.Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content(kPage, "text/html; charset=utf-8"); });
  svr.Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok\n", "text/plain"); });
  svr.Get("/v1/model", [this](const httplib::Request&, httplib::Response& res) {
    auto record = model_;
    record["queue"] = {{"waiting", batcher_.queued()}, {"batches", batcher_.batches()}, {"scored", batcher_.scored()}};
    res.set_content(record.dump(1), "application/json");
  });
  svr.Get("/v1/samples", [this](const httplib::Request&, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(http_->samples_mutex);
    if (http_->samples.empty()) http_->samples = make_samples(predictor_.options().backbone.image_size()).dump();
    res.set_content(http_->samples, "application/json");
  });
  svr.Post("/v1/predict", [this](const httplib::Request& req, httplib::Response& res) {
    try {
      if (!req.is_multipart_form_data())
        throw RequestError(415, "send multipart/form-data with the files rgb, depth and ir (docs/serve.md)");
      std::vector<std::pair<std::string, std::string>> query(req.params.begin(), req.params.end());
      std::vector<Part> parts;
      for (const auto& [name, file] : req.files) parts.push_back(Part{name, file.filename, file.content});
      const auto r = parse_predict_request(query, parts, http_->limits);
      // decode what the headers announced, and nothing else
      std::array<cv::Mat, 3> frames;
      for (int m = 0; m < 3; ++m) {
        if (r.missing[m]) continue;
        const std::string what = std::string("field '") + model::modality_name(m) + "'";
        const auto& bytes = r.images[m];
        frames[m] = cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data())),
                                 cv::IMREAD_UNCHANGED);
        if (frames[m].empty()) throw RequestError(400, what + ": the " + r.headers[m].format + " image cannot be decoded");
        if (frames[m].cols != r.headers[m].width || frames[m].rows != r.headers[m].height)
          throw RequestError(400, what + ": decoded as " + std::to_string(frames[m].cols) + " x " +
                                      std::to_string(frames[m].rows) + ", its header said " +
                                      std::to_string(r.headers[m].width) + " x " + std::to_string(r.headers[m].height));
      }
      nlohmann::ordered_json face;
      if (r.detect_face) {
#ifdef MMDG_HAVE_OBJDETECT
        std::lock_guard<std::mutex> lock(http_->face_mutex);
        if (!http_->cropper) http_->cropper.emplace();
        const auto found = http_->cropper->try_crop(frames, "the request");
        if (!found) {
          res.status = 422;
          res.set_content(nlohmann::json{{"error", "no face found (in rgb, nor in ir)"}, {"status", 422}, {"face", nullptr}}.dump(),
                          "application/json");
          return;
        }
        face = data::face_json(*found);
        frames = found->crops;
#else
        throw RequestError(501, "detect_face: this build has no face detection (OpenCV's objdetect)");
#endif
      }
      Job job;
      job.missing = r.missing;
      job.maps = r.maps && predictor_.network().capabilities().adapters;
      const auto S = predictor_.options().backbone.image_size();
      for (int m = 0; m < 3; ++m) {
        if (r.missing[m]) {
          job.inputs[m] = torch::zeros({3, S, S});
          continue;
        }
        try {
          job.inputs[m] = predictor_.prepare(data::image_from_mat(&frames[m], std::string("field '") + model::modality_name(m) + "'"));
        } catch (const Error& e) {  // e.g. a two-channel PNG
          throw RequestError(400, e.what());
        }
      }
      auto pending = batcher_.submit(job);
      if (!pending) {
        res.set_header("Retry-After", "1");
        answer_error(res, 503, "the queue is full (" + std::to_string(options_.queue) + " samples): retry later");
        return;
      }
      const auto scored = pending->get();
      const auto& p = *scored.batch;
      auto out = infer::prediction_json(predictor_, p, scored.index);
      if (!face.is_null()) out["face"] = face;
      if (r.maps) {
        if (!p.reliability_maps[0].defined())
          throw RequestError(400, "maps: the " + predictor_.options().network + " network has no uncertainty module, so no maps");
        std::array<torch::Tensor, 3> images;
        for (int m = 0; m < 3; ++m)
          if (!r.missing[m]) images[m] = data::denormalize(job.inputs[m], predictor_.scoring().normalization);
        nlohmann::json maps = nlohmann::json::object();
        for (const auto& [name, picture] : viz::prediction_overlays(p, scored.index, images)) {
          const auto png = viz::encode_png(picture);
          maps[name] = "data:image/png;base64," + base64(png.data(), png.size());
        }
        out["maps"] = maps;
      }
      res.set_header("X-Batch-Size", std::to_string(scored.batch_size));
      res.set_content(out.dump(), "application/json");
    } catch (const RequestError& e) {
      answer_error(res, e.status(), e.what());
    }
  });
}

Server::~Server() {
  stop();
  batcher_.stop();
}

int Server::bind() {
  auto& svr = http_->server;
  int port = static_cast<int>(options_.port);
  if (port == 0) {
    port = svr.bind_to_any_port(options_.host);
    if (port < 0) throw Error("cannot listen on " + options_.host + " (option --host)");
  } else if (!svr.bind_to_port(options_.host, port)) {
    throw Error("cannot listen on " + options_.host + ":" + std::to_string(port) +
                " (in use, or not an address of this machine? --port 0 takes a free one)");
  }
  return port;
}

void Server::run() {
  started_ = true;
  if (!stopping_) http_->server.listen_after_bind();
  finished_ = true;
  batcher_.stop();  // the requests in progress have been answered
}

void Server::stop() {
  stopping_ = true;
  batcher_.resume();  // a held network thread would keep the requests in progress waiting forever
  // httplib's stop() does nothing before its loop runs: wait for it (or for run() to end)
  while (started_ && !finished_) {
    if (http_->server.is_running()) {
      http_->server.stop();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace mmdg::serve
