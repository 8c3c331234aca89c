#include "mmdg/train/trainer.h"

#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "mmdg/data/dataset.h"
#include "mmdg/eval/evaluate.h"
#include "mmdg/infer/checkpoint.h"
#include "mmdg/io/file_util.h"
#include "mmdg/io/weights_file.h"
#include "mmdg/train/regrad.h"
#include "mmdg/train/ssp_loss.h"
#include "mmdg/train/train_step.h"
#include "mmdg/util/error.h"
#include "mmdg/util/progress.h"
#include "mmdg/util/settings.h"

namespace mmdg::train {
namespace fs = std::filesystem;

namespace {
std::atomic<bool> g_interrupted{false};
void on_signal(int) { g_interrupted = true; }

nlohmann::json data_json(const TrainData& d) {
  return {{"train", d.train_lists}, {"val", d.val_lists}, {"data_root", d.data_root}, {"pretrained", d.pretrained}};
}

std::string path_in(const std::string& dir, const std::string& name) { return (fs::path(dir) / name).string(); }

void append_log(const std::string& path, const nlohmann::json& line) {
  std::ofstream out(path, std::ios::app);
  out << line.dump() << "\n";
  if (!out) throw Error(path + ": cannot append to the log");
}

at::Generator cpu_generator() { return at::detail::getDefaultCPUGenerator(); }
}  // namespace

void install_interrupt_handlers() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

void TrainOptions::validate() const {
  const auto require = [](bool ok, const std::string& option, const std::string& why) {
    if (!ok) throw Error("option " + option + ": " + why);
  };
  require(epochs > 0, "epochs", "must be positive");
  require(batch_size > 0, "batch_size", "must be positive");
  require(lr > 0, "lr", "must be positive");
  require(weight_decay >= 0, "weight_decay", "must be >= 0");
  require(grad_clip >= 0, "grad_clip", "must be >= 0");
  require(ssp_weight >= 0, "ssp_weight", "must be >= 0");
  parse_regrad_variant(regrad);
  require(loss_momentum >= 0 && loss_momentum < 1, "loss_momentum", "must be in [0, 1)");
  require(prototype_update == "epoch" || prototype_update == "ema", "prototype_update", "expected epoch or ema");
  require(workers >= 0, "workers", "must be >= 0");
  require(steps_per_epoch >= 0, "steps_per_epoch", "must be >= 0");
  require(log_every > 0, "log_every", "must be positive");
  require(eval_batch_size > 0, "eval_batch_size", "must be positive");
  data::parse_normalization(normalization);
  augment.validate();
}

Trainer::Trainer(model::MMDGOptions model, TrainOptions options, TrainData data, std::string run_dir)
    : model_options_(std::move(model)), options_(std::move(options)), data_(std::move(data)), run_dir_(std::move(run_dir)) {
  model_options_.validate();
  options_.validate();
  if (data_.train_lists.empty()) throw Error("option --train: give at least one training list (one per source domain)");
  if (fs::exists(path_in(run_dir_, "config.json")))
    throw Error(run_dir_ + " already holds a run. HINT: continue it with --resume " + run_dir_ + ", or choose another --out");
}

Trainer Trainer::resume(const std::string& run_dir) {
  const std::string config_path = path_in(run_dir, "config.json");
  if (!fs::exists(config_path)) throw Error(run_dir + ": no run to resume (config.json missing)");
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(io::read_file(config_path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(config_path + ": not valid JSON: " + e.what());
  }
  Trainer t;
  settings::from_json(t.model_options_, config.at("model"), config_path + " (model)");
  settings::from_json(t.options_, config.at("train"), config_path + " (train)");
  const auto& d = config.at("data");
  t.data_.train_lists = d.at("train").get<std::vector<std::string>>();
  t.data_.val_lists = d.at("val").get<std::vector<std::string>>();
  t.data_.data_root = d.at("data_root").get<std::string>();
  t.data_.pretrained = d.at("pretrained").get<std::string>();
  t.options_.interrupt_after_steps = 0;  // a testing aid of the interrupted run only
  t.run_dir_ = run_dir;
  t.resuming_ = true;
  return t;
}

TrainResult Trainer::run() {
  const auto& o = options_;
  fs::create_directories(run_dir_);
  const std::string config_path = path_in(run_dir_, "config.json"), log_path = path_in(run_dir_, "log.jsonl");
  const std::string last_path = path_in(run_dir_, "last.safetensors"), best_path = path_in(run_dir_, "best.safetensors");
  const std::string state_path = path_in(run_dir_, "resume.pt");
  const nlohmann::json config = {{"model", settings::to_json(model_options_)}, {"train", settings::to_json(o)},
                                 {"data", data_json(data_)}};
  if (!resuming_) io::write_file_atomically(config_path, [&](std::ostream& out) { out << config.dump(1) << "\n"; });
  std::cout << "run " << run_dir_ << (resuming_ ? " (resumed)" : "") << "\nmodel options:\n"
            << settings::describe(model_options_) << "training options:\n" << settings::describe(o)
            << "data: " << data_json(data_).dump() << "\n";

  torch::Device device(o.device);
  torch::manual_seed(static_cast<std::uint64_t>(o.seed));
  model::MMDGNet net(model_options_);
  if (!resuming_ && !data_.pretrained.empty())
    net->load_pretrained_backbone(io::read_weights(data_.pretrained), data_.pretrained);
  net->to(device);

  const auto norm = data::parse_normalization(o.normalization);
  data::MultiDomainDataset train_set(data_.train_lists, data_.data_root, model_options_.image_size, norm, o.cache);
  std::unique_ptr<data::MultiDomainDataset> val_set;
  if (!data_.val_lists.empty())
    val_set = std::make_unique<data::MultiDomainDataset>(data_.val_lists, data_.data_root, model_options_.image_size, norm,
                                                         o.cache);
  const std::int64_t num_domains = 1 + static_cast<std::int64_t>(data_.train_lists.size());
  std::array<Prototypes, 3> prototypes{Prototypes(num_domains, model_options_.hidden_dim, o.prototype_update, o.prototype_momentum),
                                       Prototypes(num_domains, model_options_.hidden_dim, o.prototype_update, o.prototype_momentum),
                                       Prototypes(num_domains, model_options_.hidden_dim, o.prototype_update, o.prototype_momentum)};
  std::vector<torch::Tensor> trainable;
  for (auto& p : net->parameters())
    if (p.requires_grad()) trainable.push_back(p);
  torch::optim::Adam optimizer(trainable, torch::optim::AdamOptions(o.lr).weight_decay(o.weight_decay));
  ReGradOptions regrad;
  regrad.variant = parse_regrad_variant(o.regrad);
  regrad.uncertainty = o.regrad_uncertainty;

  // ---- run state (what resume.pt holds)
  std::int64_t epoch = 0, step_in_epoch = 0, global_step = 0, best_epoch = -1;
  std::int64_t prototypes_epoch = -1;  // the epoch whose prototypes `prototypes` holds
  double best_hter = 2.0, best_auc = -1.0;
  std::array<double, 3> running{NAN, NAN, NAN};
  if (resuming_) {
    if (!fs::exists(state_path)) throw Error(run_dir_ + ": resume.pt missing (the run never saved a resumable state)");
    auto weights = infer::load_checkpoint(last_path);
    model::load_state_dict(*net, model::module_state_dict(*weights), true, last_path);
    torch::serialize::InputArchive archive;
    archive.load_from(state_path);
    optimizer.load(archive);
    torch::Tensor counters, floats, rng;
    archive.read("counters", counters);
    archive.read("floats", floats);
    archive.read("rng", rng);
    epoch = counters[0].item<std::int64_t>();
    step_in_epoch = counters[1].item<std::int64_t>();
    global_step = counters[2].item<std::int64_t>();
    best_epoch = counters[3].item<std::int64_t>();
    prototypes_epoch = counters[4].item<std::int64_t>();
    best_hter = floats[0].item<double>();
    best_auc = floats[1].item<double>();
    for (int m = 0; m < 3; ++m) running[m] = floats[2 + m].item<double>();
    for (int m = 0; m < 3; ++m) {
      torch::Tensor values, valid;
      archive.read("prototypes_" + std::to_string(m), values);
      archive.read("prototypes_valid_" + std::to_string(m), valid);
      prototypes[m].load(values, valid);
    }
    auto gen = cpu_generator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(rng);
  }
  // Saves weights and state so that a resumed run starts at (next_epoch, next_step).
  const auto save_state = [&](std::int64_t next_epoch, std::int64_t next_step) {
    infer::save_checkpoint(last_path, *net, {{"epoch", next_epoch}, {"step_in_epoch", next_step}, {"global_step", global_step}});
    torch::serialize::OutputArchive archive;
    optimizer.save(archive);
    archive.write("counters", torch::tensor({next_epoch, next_step, global_step, best_epoch, prototypes_epoch}, torch::kLong));
    archive.write("floats", torch::tensor({best_hter, best_auc, running[0], running[1], running[2]}, torch::kDouble));
    {
      auto gen = cpu_generator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      archive.write("rng", gen.get_state());
    }
    for (int m = 0; m < 3; ++m) {
      archive.write("prototypes_" + std::to_string(m), prototypes[m].values());
      archive.write("prototypes_valid_" + std::to_string(m), prototypes[m].valid());
    }
    const std::string tmp = state_path + ".tmp";
    archive.save_to(tmp);
    fs::rename(tmp, state_path);
  };

  TrainResult result;
  std::int64_t steps_this_run = 0;
  const auto interrupted = [&] {
    return g_interrupted.load() || (o.interrupt_after_steps > 0 && steps_this_run >= o.interrupt_after_steps);
  };
  const auto seconds_since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };

  for (; epoch < o.epochs; ++epoch) {
    const std::uint64_t epoch_seed = static_cast<std::uint64_t>(o.seed) * 1000003ull + static_cast<std::uint64_t>(epoch);
    // ---- prototypes from the whole training set (epoch strategy), at the epoch's start
    if (o.prototype_update == "epoch" && prototypes_epoch != epoch && model_options_.method == "mmdg") {
      torch::NoGradGuard no_grad;
      net->eval();
      std::array<torch::Tensor, 3> sums;
      for (auto& s : sums) s = torch::zeros({num_domains, model_options_.hidden_dim});
      torch::Tensor counts = torch::zeros({num_domains}, torch::kLong);
      data::DataLoader loader(train_set, data::ShuffledSampler(train_set.size(), static_cast<std::size_t>(o.eval_batch_size), false).epoch(0),
                              static_cast<int>(o.workers));
      while (auto batch = loader.next()) {
        const auto out = net->forward(batch->rgb.to(device), batch->depth.to(device), batch->ir.to(device));
        const auto domains = ssp_domain(batch->label, batch->domain);
        for (int m = 0; m < 3; ++m) sums[m].index_add_(0, domains, out.features[m].to(torch::kCPU));
        counts.index_add_(0, domains, torch::ones_like(domains));
      }
      for (int m = 0; m < 3; ++m) prototypes[m].set_from_sums(sums[m], counts);
      prototypes_epoch = epoch;
    }
    // ---- the epoch's batches
    std::vector<std::vector<std::size_t>> batches =
        o.balanced ? data::BalancedSampler(train_set, static_cast<std::size_t>(o.batch_size)).epoch(epoch_seed)
                   : data::ShuffledSampler(train_set.size(), static_cast<std::size_t>(o.batch_size)).epoch(epoch_seed);
    if (o.steps_per_epoch > 0 && batches.size() > static_cast<std::size_t>(o.steps_per_epoch))
      batches.resize(static_cast<std::size_t>(o.steps_per_epoch));
    const auto num_steps = static_cast<std::int64_t>(batches.size());
    data::DataLoader loader(train_set, batches, static_cast<int>(o.workers), o.augment, epoch_seed, 4,
                            static_cast<std::size_t>(step_in_epoch));
    net->train();
    Progress progress("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(o.epochs), num_steps);
    const auto epoch_start = std::chrono::steady_clock::now();
    double loss_sum = 0;
    std::int64_t loss_count = 0;
    std::array<double, 3> ssp_sum{0, 0, 0};
    for (; step_in_epoch < num_steps; ++step_in_epoch) {
      if (interrupted()) {
        progress.finish("interrupted");
        save_state(epoch, step_in_epoch);
        std::cout << "interrupted at epoch " << epoch + 1 << " step " << step_in_epoch << ": saved " << state_path
                  << "; continue with --resume " << run_dir_ << "\n";
        result.epochs_done = epoch;
        return result;
      }
      const auto step_start = std::chrono::steady_clock::now();
      auto batch = loader.next();
      const auto labels = batch->label.to(device), sources = batch->domain.to(device);
      StepLosses losses;
      ReGradStats stats;
      try {
        losses = compute_losses(*net, batch->rgb.to(device), batch->depth.to(device), batch->ir.to(device), labels,
                                sources, prototypes);
        const double ce = losses.ce.item<double>();
        std::array<double, 3> ssp{};
        for (int m = 0; m < 3; ++m) ssp[m] = losses.ssp[m].item<double>();
        if (!std::isfinite(ce) || !std::isfinite(ssp[0]) || !std::isfinite(ssp[1]) || !std::isfinite(ssp[2]))
          throw Error("epoch " + std::to_string(epoch + 1) + " step " + std::to_string(step_in_epoch) +
                      ": the loss is not finite (ce " + std::to_string(ce) + ", ssp " + std::to_string(ssp[0]) + " " +
                      std::to_string(ssp[1]) + " " + std::to_string(ssp[2]) + "); stopped, the last good checkpoint is " +
                      last_path + ". HINT: lower --lr or set --grad-clip");
        for (int m = 0; m < 3; ++m)
          running[m] = std::isnan(running[m]) ? ssp[m] : o.loss_momentum * running[m] + (1 - o.loss_momentum) * ssp[m];
        const int fast = static_cast<int>(std::min_element(running.begin(), running.end()) - running.begin());
        stats = backward(*net, losses, o.ssp_weight, fast, regrad);
        if (o.grad_clip > 0) torch::nn::utils::clip_grad_norm_(trainable, o.grad_clip);
        optimizer.step();
        if (o.prototype_update == "ema")
          for (int m = 0; m < 3; ++m) prototypes[m].update_from_batch(losses.features[m], losses.domains);
        const double total = ce + o.ssp_weight * (ssp[0] + ssp[1] + ssp[2]);
        for (int m = 0; m < 3; ++m) ssp_sum[m] += ssp[m];
        loss_sum += total;
        ++loss_count;
        result.last_loss = total;
        ++global_step;
        ++steps_this_run;
        if (global_step % o.log_every == 0 || step_in_epoch + 1 == num_steps) {
          const double mean = (ssp[0] + ssp[1] + ssp[2]) / 3;
          double variance = 0;
          for (double v : ssp) variance += (v - mean) * (v - mean) / 3;
          append_log(log_path, {{"type", "step"}, {"epoch", epoch + 1}, {"step", step_in_epoch + 1}, {"global_step", global_step},
                                {"loss", total}, {"loss_ce", ce}, {"loss_ssp", ssp}, {"running_ssp", running},
                                {"ssp_variance", variance}, {"fast", model::modality_name(fast)},
                                {"conflict_fraction", stats.conflict_fraction}, {"modulated_tensors", stats.modulated},
                                {"reliability", losses.reliability}, {"lr", o.lr},
                                {"seconds", seconds_since(step_start)}});
        }
      } catch (const c10::Error& e) {
        const std::string what = e.what_without_backtrace();
        if (what.find("out of memory") != std::string::npos) {
          save_state(epoch, step_in_epoch);
          throw Error("epoch " + std::to_string(epoch + 1) + " step " + std::to_string(step_in_epoch) +
                      ": out of memory; a resumable state was saved in " + run_dir_ + ". HINT: lower --batch-size");
        }
        throw;
      }
      std::ostringstream note;
      note.precision(4);
      note << "loss " << loss_sum / static_cast<double>(loss_count) << " "
           << (step_in_epoch + 1) * o.batch_size / std::max(1e-9, seconds_since(epoch_start)) << " samples/s";
      progress.update(step_in_epoch + 1, note.str());
    }
    progress.finish();
    step_in_epoch = 0;
    // ---- evaluation and model selection
    nlohmann::json epoch_log = {{"type", "epoch"}, {"epoch", epoch + 1}, {"global_step", global_step},
                                {"loss", loss_count ? loss_sum / static_cast<double>(loss_count) : 0.0},
                                {"running_ssp", running}, {"seconds", seconds_since(epoch_start)}};
    if (loss_count > 0) {  // each modality's mean SSP loss over the epoch and their variance (Fig. 6)
      std::array<double, 3> mean_ssp{};
      for (int m = 0; m < 3; ++m) mean_ssp[m] = ssp_sum[m] / static_cast<double>(loss_count);
      const double mu = (mean_ssp[0] + mean_ssp[1] + mean_ssp[2]) / 3;
      double variance = 0;
      for (double v : mean_ssp) variance += (v - mu) * (v - mu) / 3;
      epoch_log["ssp_mean"] = mean_ssp;
      epoch_log["ssp_variance"] = variance;
    }
    bool is_best = !val_set;
    if (val_set) {
      const auto summary = eval::summarize(eval::score_dataset(*net, *val_set, o.eval_batch_size, device, static_cast<int>(o.workers)));
      epoch_log["val_auc"] = summary.auc;
      epoch_log["val_hter"] = summary.hter;
      epoch_log["val_eer_threshold"] = summary.eer_threshold;
      is_best = summary.hter < best_hter || (summary.hter == best_hter && summary.auc > best_auc);
      if (is_best) {
        best_hter = summary.hter;
        best_auc = summary.auc;
      }
      std::cout << "epoch " << epoch + 1 << ": val HTER " << 100 * summary.hter << " %, AUC " << 100 * summary.auc << " %"
                << (is_best ? " (best)" : "") << "\n";
    }
    if (is_best) {
      best_epoch = epoch + 1;
      infer::save_checkpoint(best_path, *net, {{"epoch", epoch + 1}, {"val_hter", best_hter}, {"val_auc", best_auc}});
    }
    epoch_log["best"] = is_best;
    append_log(log_path, epoch_log);
    save_state(epoch + 1, 0);
    if (interrupted() && epoch + 1 < o.epochs) {
      std::cout << "interrupted after epoch " << epoch + 1 << ": saved " << state_path << "; continue with --resume "
                << run_dir_ << "\n";
      result.epochs_done = epoch + 1;
      return result;
    }
  }
  result.completed = true;
  result.epochs_done = o.epochs;
  result.best_epoch = best_epoch;
  result.best_hter = best_hter;
  result.best_auc = best_auc;
  return result;
}

}  // namespace mmdg::train
