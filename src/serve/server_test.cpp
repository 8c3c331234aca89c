// mmdg serve on 127.0.0.1 with port 0, in process: its answers against `mmdg predict --json` and
// the Predictor, batching that changes no score, 8 parallel clients, a full queue (503), bad,
// oversized and truncated uploads (4xx, and the server keeps serving), the token, stop().
#include "serve/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <thread>

#include "mmdg/data/synth.h"
#include "mmdg/util/test_util.h"
#include "serve/request.h"

namespace mmdg::serve {
namespace {

std::string run_output(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return out;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  EXPECT_EQ(::pclose(pipe), 0) << command;
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A tiny checkpoint (mmdg model init) and a few synthetic triples written as PNG files, shared by
// the tests of this file.
struct Fixture {
  test::TempDir dir;
  std::string checkpoint;
  std::vector<std::array<std::string, 3>> samples;  // PNG paths
  Fixture() {
    checkpoint = dir.file("init.safetensors");
    const std::string cli = test::cli_path();
    if (cli.empty()) return;
    const auto command = cli + " -q model init --config mmdg_tiny --pretrained " + test::golden("vit_tiny_torchvision.pth") +
                         " --out " + checkpoint;
    if (std::system(command.c_str()) != 0) return;
    data::SynthOptions o;
    o.subjects = 3;
    o.live_videos = 1;
    o.attack_videos = 2;
    o.frames = 1;
    o.image_size = 32;
    int k = 0;
    for (const auto& s : data::generate_domain(o, 'W')) {
      std::array<std::string, 3> paths;
      const auto images = data::synth_images_8bit(s);
      for (int m = 0; m < 3; ++m) {
        paths[m] = dir.file(std::to_string(k) + "_" + model::modality_name(m) + ".png");
        cv::imwrite(paths[m], images[m]);
      }
      samples.push_back(paths);
      ++k;
    }
  }
  bool ready() const { return !samples.empty(); }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

// A server running on a thread for the test's duration.
class Running {
 public:
  explicit Running(ServeOptions o = {}) {
    o.port = 0;
    predictor_ = std::make_unique<infer::Predictor>(fixture().checkpoint);
    server_ = std::make_unique<Server>(*predictor_, o, fixture().checkpoint);
    port_ = server_->bind();
    thread_ = std::thread([this] { server_->run(); });
  }
  ~Running() {
    server_->stop();
    thread_.join();
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(60);
    return c;
  }
  Server& server() { return *server_; }
  infer::Predictor& predictor() { return *predictor_; }
  int port() const { return port_; }

 private:
  std::unique_ptr<infer::Predictor> predictor_;
  std::unique_ptr<Server> server_;
  int port_ = 0;
  std::thread thread_;
};

httplib::MultipartFormDataItems triple(const std::array<std::string, 3>& paths) {
  httplib::MultipartFormDataItems items;
  for (int m = 0; m < 3; ++m)
    items.push_back({model::modality_name(m), read_file(paths[m]), std::string(model::modality_name(m)) + ".png", "image/png"});
  return items;
}

nlohmann::json post(httplib::Client& c, const std::string& path, const httplib::MultipartFormDataItems& items,
                    int expected_status = 200) {
  const auto res = c.Post(path.c_str(), items);
  EXPECT_TRUE(res) << "no answer";
  if (!res) return {};
  EXPECT_EQ(res->status, expected_status) << res->body;
  return nlohmann::json::parse(res->body, nullptr, false);
}

#define REQUIRE_FIXTURE() \
  if (!fixture().ready()) GTEST_SKIP() << "the mmdg program is not built (test::cli_path)"

TEST(Serve, AnswersEqualMmdgPredict) {
  REQUIRE_FIXTURE();
  Running running;
  auto c = running.client();
  for (std::size_t k = 0; k < 3; ++k) {
    const auto& s = fixture().samples[k];
    const auto served = post(c, "/v1/predict", triple(s));
    const auto cli = nlohmann::json::parse(run_output(std::string(test::cli_path()) + " -q predict --json --checkpoint " +
                                                      fixture().checkpoint + " --rgb " + s[0] + " --depth " + s[1] +
                                                      " --ir " + s[2]));
    ASSERT_FALSE(served.is_discarded());
    for (const auto& key : {"decision", "threshold_source", "normalization", "estimator"}) EXPECT_EQ(served[key], cli[key]) << key;
    EXPECT_NEAR(served["live_probability"].get<double>(), cli["live_probability"].get<double>(), 1e-6);
    EXPECT_NEAR(served["threshold"].get<double>(), cli["threshold"].get<double>(), 1e-12);
    for (const auto& m : {"rgb", "depth", "ir"})
      EXPECT_NEAR(served["mean_reliability"][m].get<double>(), cli["mean_reliability"][m].get<double>(), 1e-6) << m;
  }
  // the model record and the health check
  const auto model = c.Get("/v1/model");
  ASSERT_TRUE(model);
  const auto record = nlohmann::json::parse(model->body);
  EXPECT_EQ(record["network"], "vit-uadapter");
  EXPECT_EQ(record["image_size"], 32);
  EXPECT_TRUE(record["versions"].contains("libtorch"));
  EXPECT_EQ(c.Get("/healthz")->body, "ok\n");
  const auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_NE(page->body.find("<title>mmdg serve</title>"), std::string::npos);
  EXPECT_EQ(c.Get("/nowhere")->status, 404);
}

TEST(Serve, MissingModalitiesAndMaps) {
  REQUIRE_FIXTURE();
  Running running;
  auto c = running.client();
  const auto& s = fixture().samples[1];
  auto items = triple(s);
  items.resize(1);  // RGB only
  items.push_back({"missing", "depth,ir", "", ""});
  const auto served = post(c, "/v1/predict?maps=1", items);
  const cv::Mat rgb = cv::imread(s[0], cv::IMREAD_UNCHANGED);
  const auto direct = running.predictor().predict_images({{rgb, cv::Mat(), cv::Mat()}}, {false, true, true});
  EXPECT_NEAR(served["live_probability"].get<double>(), direct.live_probability[0].item<double>(), 1e-6);
  // the overlays of the modality given: RGB's reliability, and RGB's view of itself only through
  // its own adapters (the missing ones' maps are not drawn)
  ASSERT_TRUE(served.contains("maps"));
  ASSERT_TRUE(served["maps"].contains("rgb_reliability"));
  EXPECT_FALSE(served["maps"].contains("depth_reliability"));
  for (const auto& [name, url] : served["maps"].items()) {
    const std::string prefix = "data:image/png;base64,";
    ASSERT_EQ(url.get<std::string>().rfind(prefix, 0), 0u) << name;
    EXPECT_GT(url.get<std::string>().size(), prefix.size() + 100) << name;
  }
}

TEST(Serve, BatchingChangesNoScoreAndParallelClientsAgree) {
  REQUIRE_FIXTURE();
  ServeOptions o;
  o.max_batch = 8;
  Running running(o);
  const auto& samples = fixture().samples;
  // each sample alone first
  std::vector<double> alone;
  {
    auto c = running.client();
    for (const auto& s : samples) alone.push_back(post(c, "/v1/predict", triple(s))["live_probability"].get<double>());
  }
  // 8 clients at once while the network thread is held: one forward takes all 8
  running.server().batcher().pause();
  const auto before = running.server().batcher().batches();
  std::vector<std::thread> clients;
  std::vector<double> together(8, -1);
  std::vector<std::string> batch_sizes(8);
  for (int k = 0; k < 8; ++k)
    clients.emplace_back([&, k] {
      auto c = running.client();
      const auto res = c.Post("/v1/predict", triple(samples[static_cast<std::size_t>(k) % samples.size()]));
      if (!res || res->status != 200) return;
      together[static_cast<std::size_t>(k)] = nlohmann::json::parse(res->body)["live_probability"].get<double>();
      batch_sizes[static_cast<std::size_t>(k)] = res->get_header_value("X-Batch-Size");
    });
  for (int wait = 0; wait < 6000 && running.server().batcher().queued() < 8; ++wait)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(running.server().batcher().queued(), 8);
  running.server().batcher().resume();
  for (auto& t : clients) t.join();
  EXPECT_EQ(running.server().batcher().batches() - before, 1);
  for (int k = 0; k < 8; ++k) {
    EXPECT_EQ(batch_sizes[static_cast<std::size_t>(k)], "8");
    EXPECT_NEAR(together[static_cast<std::size_t>(k)], alone[static_cast<std::size_t>(k) % samples.size()], 1e-6) << k;
  }
  // and 8 free-running clients, 3 requests each: the same answers
  clients.clear();
  std::atomic<int> mismatches{0}, failures{0};
  for (int k = 0; k < 8; ++k)
    clients.emplace_back([&, k] {
      auto c = running.client();
      for (int r = 0; r < 3; ++r) {
        const auto i = static_cast<std::size_t>(k + r) % samples.size();
        const auto res = c.Post("/v1/predict", triple(samples[i]));
        if (!res || res->status != 200) {
          ++failures;
          continue;
        }
        if (std::abs(nlohmann::json::parse(res->body)["live_probability"].get<double>() - alone[i]) > 1e-6) ++mismatches;
      }
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(mismatches, 0);
}

TEST(Serve, AFullQueueAnswers503) {
  REQUIRE_FIXTURE();
  ServeOptions o;
  o.queue = 2;
  Running running(o);
  running.server().batcher().pause();
  std::vector<std::thread> waiting;
  std::vector<int> statuses(2, 0);
  for (int k = 0; k < 2; ++k)
    waiting.emplace_back([&, k] {
      auto c = running.client();
      const auto res = c.Post("/v1/predict", triple(fixture().samples[0]));
      statuses[static_cast<std::size_t>(k)] = res ? res->status : -1;
    });
  for (int wait = 0; wait < 6000 && running.server().batcher().queued() < 2; ++wait)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto c = running.client();
  const auto refused = c.Post("/v1/predict", triple(fixture().samples[0]));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(refused->get_header_value("Retry-After"), "1");
  EXPECT_NE(refused->body.find("the queue is full"), std::string::npos);
  running.server().batcher().resume();
  for (auto& t : waiting) t.join();
  EXPECT_EQ(statuses, (std::vector<int>{200, 200}));
}

TEST(Serve, StoppingAnswersTheRequestsInProgress) {
  REQUIRE_FIXTURE();
  int status = 0;
  std::thread client;
  {
    Running running;
    running.server().batcher().pause();  // the request waits in the queue when the stop comes
    client = std::thread([&] {
      auto c = running.client();
      const auto res = c.Post("/v1/predict", triple(fixture().samples[0]));
      status = res ? res->status : -1;
    });
    for (int wait = 0; wait < 6000 && running.server().batcher().queued() < 1; ++wait)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_EQ(running.server().batcher().queued(), 1);
  }  // stop() and run() returning: the held request is answered first
  client.join();
  EXPECT_EQ(status, 200);
}

// Raw bytes on a socket: what a broken or hostile client sends. Returns the server's answer (one
// whole response, by its Content-Length) or what it sent before closing the connection. (A client
// that half-closes its side gets no answer from cpp-httplib, which takes it for gone.)
std::string raw_exchange(int port, const std::string& bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval timeout{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return "connect failed";
  }
  (void)!::write(fd, bytes.data(), bytes.size());
  std::string answer;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) {
    answer.append(buffer, static_cast<std::size_t>(n));
    const auto end = answer.find("\r\n\r\n");
    const auto length = answer.find("Content-Length: ");
    if (end != std::string::npos && length != std::string::npos &&
        answer.size() >= end + 4 + std::stoul(answer.substr(length + 16)))
      break;
  }
  ::close(fd);
  return answer;
}

TEST(Serve, BadOversizedAndTruncatedUploadsGet4xxAndTheServerKeepsServing) {
  REQUIRE_FIXTURE();
  ServeOptions o;
  o.max_body_mb = 0.25;
  o.max_image_mpixels = 0.01;  // 10,000 pixels
  o.timeout_s = 1;
  Running running(o);
  auto c = running.client();
  const auto good = triple(fixture().samples[0]);
  const auto error_of = [&](const httplib::MultipartFormDataItems& items, int status, const std::string& needle,
                            const std::string& path = "/v1/predict") {
    const auto answer = post(c, path, items, status);
    EXPECT_NE(answer.value("error", "").find(needle), std::string::npos) << answer.dump();
  };
  auto items = good;
  items[1].content = "not an image at all";
  error_of(items, 415, "field 'depth': not a PNG, JPEG or BMP image");
  items = good;
  items[2].content = items[2].content.substr(0, 60);  // header intact, data cut
  error_of(items, 400, "field 'ir': the png image cannot be decoded");
  items = good;
  items.pop_back();
  error_of(items, 400, "field 'ir': no such file");
  error_of(good, 400, "query parameter 'colour': unknown", "/v1/predict?colour=1");
  // a 200 x 100 PNG header over a 10,000-pixel limit: 413 before decoding
  items = good;
  cv::Mat big(100, 200, CV_8UC3, cv::Scalar::all(1));
  std::vector<unsigned char> png;
  cv::imencode(".png", big, png);
  items[0].content.assign(png.begin(), png.end());
  error_of(items, 413, "over the server's limit of 10000 pixels");
  // a body over --max-body-mb: 413 from the HTTP layer, as JSON
  items = good;
  items[0].content += std::string(300 * 1024, 'x');
  const auto large = c.Post("/v1/predict", items);
  ASSERT_TRUE(large);
  EXPECT_EQ(large->status, 413);
  // not multipart
  const auto plain = c.Post("/v1/predict", "{}", "application/json");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 415);
  // a body shorter than its Content-Length, then the connection half-closed; a request line of
  // garbage; headers that never end (the read times out): none hangs the server
  const auto port = running.port();
  const std::string head = "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n";
  // (the first and the last wait for the read timeout, then get their 400)
  EXPECT_NE(raw_exchange(port, head + "Content-Length: 100000\r\n\r\n--b\r\nContent-Disposition: form-data; name=\"rgb\"\r\n\r\nab")
                .find("HTTP/1.1 400"), std::string::npos);
  const auto garbage = raw_exchange(port, "\x01\x02\x03 garbage\r\n\r\n");
  EXPECT_NE(garbage.find("400"), std::string::npos) << "[" << garbage << "]";
  EXPECT_NE(raw_exchange(port, head + "Content-Length: 10\r\n\r\n--b\r\nContent-Disposition: form-data; name=\"rgb\"\r\n")
                .find("HTTP/1.1 400"), std::string::npos);
  EXPECT_NE(raw_exchange(port, "GET / HTTP/1.1\r\nHost: x\r\n").find("HTTP/1.1 400"), std::string::npos);
  // a multipart body whose boundary never closes
  const std::string open_body = "--b\r\nContent-Disposition: form-data; name=\"rgb\"; filename=\"a.png\"\r\n\r\nxyz";
  const auto unclosed = raw_exchange(port, head + "Content-Length: " + std::to_string(open_body.size()) + "\r\n\r\n" + open_body);
  EXPECT_NE(unclosed.find("HTTP/1.1 4"), std::string::npos) << unclosed;
  // still serving, and with the same answer
  const auto after = post(c, "/v1/predict", good);
  EXPECT_TRUE(after.contains("live_probability"));
}

TEST(Serve, TokenGuardsTheApi) {
  REQUIRE_FIXTURE();
  ServeOptions o;
  o.token = "s3cret";
  Running running(o);
  auto c = running.client();
  const auto refused = c.Post("/v1/predict", triple(fixture().samples[0]));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  EXPECT_EQ(c.Get("/v1/model")->status, 401);
  EXPECT_EQ(c.Get("/healthz")->status, 200);  // health and the page stay open
  EXPECT_EQ(c.Get("/")->status, 200);
  c.set_bearer_token_auth("wrong");
  EXPECT_EQ(c.Get("/v1/model")->status, 401);
  c.set_bearer_token_auth("s3cret");
  EXPECT_EQ(c.Get("/v1/model")->status, 200);
  EXPECT_EQ(c.Post("/v1/predict", triple(fixture().samples[0]))->status, 200);
}

TEST(Serve, OptionsAreValidated) {
  ServeOptions o;
  o.max_batch = 0;
  EXPECT_MMDG_ERROR(o.validate(), "option --max-batch");
  o = {};
  o.max_body_mb = std::nan("");
  EXPECT_MMDG_ERROR(o.validate(), "option --max-body-mb");
  o = {};
  o.token = "a";
  o.token_file = "b";
  EXPECT_MMDG_ERROR(o.validate(), "--token-file");
}

}  // namespace
}  // namespace mmdg::serve
