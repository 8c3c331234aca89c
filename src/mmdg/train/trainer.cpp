#include "mmdg/train/trainer.h"

#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "mmdg/data/dataset.h"
#include "mmdg/eval/evaluate.h"
#include "mmdg/eval/metrics.h"
#include "mmdg/infer/checkpoint.h"
#include "mmdg/infer/infer_options.h"
#include "mmdg/io/file_util.h"
#include "mmdg/io/safetensors.h"
#include "mmdg/io/weights_file.h"
#include "mmdg/model/network.h"
#include "mmdg/train/gradient_reducer.h"
#include "mmdg/train/resume_state.h"
#include "mmdg/train/run_dir.h"
#include "mmdg/train/state_commit.h"
#include "mmdg/train/strategy.h"
#include "mmdg/util/error.h"
#include "mmdg/util/json_text.h"
#include "mmdg/util/log.h"
#include "mmdg/util/process_group.h"
#include "mmdg/util/progress.h"
#include "mmdg/util/runtime.h"
#include "mmdg/util/settings.h"

namespace mmdg::train {
namespace fs = std::filesystem;

namespace {
std::atomic<bool> g_interrupted{false};
void on_signal(int) { g_interrupted = true; }

void append_log(const std::string& path, const nlohmann::json& line) {
  std::ofstream out(path, std::ios::app);
  out << line.dump() << "\n";
  if (!out) throw Error(path + ": cannot append to the log");
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// The Frobenius norm of every U-Adapter's up-projection, summed over blocks, per adapter family
// (adapter_1_2_2: R <- D, ...): they start at zero, so they show how far the adapters moved.
nlohmann::json adapter_up_norms(torch::nn::Module& net) {
  std::map<std::string, double> squares;
  for (const auto& p : net.named_parameters()) {
    const std::string& name = p.key();
    const auto up = name.find(".adapter_up.weight");
    if (up == std::string::npos || name.rfind("adapter_", 0) != 0) continue;
    squares[name.substr(0, name.find('.'))] += p.value().detach().pow(2).sum().item<double>();
  }
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [family, sq] : squares) out[family] = std::sqrt(sq);
  return out;
}

std::string at_step(std::int64_t epoch, std::int64_t step) {
  return "epoch " + std::to_string(epoch + 1) + " step " + std::to_string(step);
}

// Testing aids for the fault tests of multi-process training: MMDG_TEST_EXIT_AT="RANK:STEP" makes that
// rank exit (status 9, without saving) when it reaches that global step, as if killed;
// MMDG_TEST_STOP_AT="RANK:STEP" makes it stop there (SIGSTOP), as if hung, until it is killed.
std::pair<int, std::int64_t> rank_and_step(const char* variable) {
  const char* v = std::getenv(variable);
  int r = -1;
  long long s = -1;
  if (v && std::sscanf(v, "%d:%lld", &r, &s) != 2) r = -1;
  return {r, s};
}
void fail_if_told(int rank, std::int64_t global_step) {
  static const auto exit_at = rank_and_step("MMDG_TEST_EXIT_AT"), stop_at = rank_and_step("MMDG_TEST_STOP_AT");
  if (exit_at.first == rank && exit_at.second == global_step) std::_Exit(9);
  if (stop_at.first == rank && stop_at.second == global_step) std::raise(SIGSTOP);
}

// The seed of a non-main process's generators at a global step: its dropout and sampling draws
// differ from the other processes' and a resumed run repeats them (they are not in resume.pt).
std::uint64_t rank_step_seed(std::int64_t seed, int rank, std::int64_t global_step) {
  return static_cast<std::uint64_t>(seed) * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(rank) * 1000003ull +
         static_cast<std::uint64_t>(global_step);
}

// Everything one run holds while it trains: the network, data, strategy, optimizer and the
// loop's state, with the loop cut into the pieces below.
class Session {
 public:
  Session(const RunConfig& config, const RunDir& dir, bool resuming, std::optional<CommitRecord> commit,
          const dist::ProcessGroup* group);
  void truncate_log_at_resume();
  TrainResult run();

 private:
  bool interrupted() const {
    return g_interrupted.load() || (o_.interrupt_after_steps > 0 && steps_this_run_ >= o_.interrupt_after_steps);
  }
  // Whether any process was interrupted (one small all-reduce with several): all stop at the same step.
  bool any_interrupted() const {
    if (!group_) return interrupted();
    auto flag = torch::tensor({interrupted() ? 1.0 : 0.0}, torch::kDouble);
    group_->sum({flag});
    return flag.item<double>() > 0;
  }
  bool is_main() const { return !group_ || group_->is_main(); }
  // Trains the rest of `epoch`; false when interrupted (a resumable state is saved).
  bool train_epoch(std::int64_t epoch);
  // The strategy's step, gradient clipping, the optimizer's step. Returns the step's log fields.
  StepResult optimize(const data::Batch& batch, std::int64_t epoch, std::int64_t num_steps);
  // Validation metrics of the epoch into `epoch_log`; saves best.safetensors when it is the best.
  void evaluate_and_select(std::int64_t epoch, nlohmann::json& epoch_log);
  // Weights and resume state so that a resumed run starts at (next_epoch, next_step).
  void save_state(std::int64_t next_epoch, std::int64_t next_step);
  // What the checkpoints record to score as training did: the normalization and the best epoch's
  // source-validation operating point.
  infer::Deployment deployment() const { return {o_.normalization, best_point_, true}; }

  const RunConfig& config_;
  const TrainOptions& o_;
  RunDir dir_;
  torch::Device device_;
  model::Network net_;
  std::unique_ptr<data::MultiDomainDataset> train_set_, val_set_;
  std::unique_ptr<Strategy> strategy_;
  std::vector<torch::Tensor> trainable_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
  ResumeState state_;
  std::optional<infer::OperatingPoint> best_point_;  // the best epoch's (none without a validation set)
  std::int64_t steps_this_run_ = 0;
  double last_loss_ = 0;
  std::optional<CommitRecord> commit_;  // the last committed state (none before the first commit)
  const dist::ProcessGroup* group_;     // the run's processes; none when it runs alone
  std::unique_ptr<GradientReducer> reducer_;  // several processes, a plain-gradient strategy: bucketed, overlapped
};

// The device of this process: with several processes, "cuda" means the one of LOCAL_RANK.
torch::Device process_device(const std::string& option, const dist::ProcessGroup* group) {
  if (group && option == "cuda") return infer::parse_device("cuda:" + std::to_string(dist::environment().local_rank));
  return infer::parse_device(option);
}

Session::Session(const RunConfig& config, const RunDir& dir, bool resuming, std::optional<CommitRecord> commit,
                 const dist::ProcessGroup* group)
    : config_(config), o_(config.train), dir_(dir), device_(process_device(o_.device, group)), commit_(std::move(commit)),
      group_(group) {
  const auto S = config.model.backbone.image_size();
  // the data first: a missing file or a wrong --data-root fails in seconds, before any training
  train_set_ = std::make_unique<data::MultiDomainDataset>(config.data.train_lists, config.data.data_root, S,
                                                          o_.normalization, o_.cache);
  train_set_->check_files();
  if (!config.data.val_lists.empty()) {
    val_set_ = std::make_unique<data::MultiDomainDataset>(config.data.val_lists, config.data.data_root, S,
                                                          o_.normalization, o_.cache);
    val_set_->check_files();
  }
  log::debug("data: " + std::to_string(train_set_->size()) + " training and " +
             std::to_string(val_set_ ? val_set_->size() : 0) + " validation samples, every listed file present");
  configure_numerics(device_.is_cuda(), o_.deterministic, o_.tf32);  // before any CUDA work (cuBLAS's setting)
  torch::manual_seed(static_cast<std::uint64_t>(o_.seed));
  net_ = model::make_network(config.model);
  if (!resuming && !config.data.pretrained.empty())
    net_->load_pretrained_backbone(io::read_weights(config.data.pretrained), config.data.pretrained);
  net_->to(device_);
  net_->set_precision(o_.precision);
  StrategyContext context;
  context.num_sources = static_cast<std::int64_t>(config.data.train_lists.size());
  context.device = device_;
  context.workers = o_.workers;
  context.group = group_;
  strategy_ = make_strategy(o_, *net_, context);
  for (auto& p : net_->parameters())
    if (p.requires_grad()) trainable_.push_back(p);
  for (auto& p : strategy_->parameters()) trainable_.push_back(p);
  optimizer_ = std::make_unique<torch::optim::Adam>(trainable_, torch::optim::AdamOptions(o_.lr).weight_decay(o_.weight_decay));
  if (group_ && o_.dist_bucket_mb > 0 && !strategy_->reduces_gradients() &&
      !strategy_->changes_gradients_after_backward()) {
    GradientReducerOptions buckets;  // the first bucket's size stays the reducer's default
    buckets.bucket_mb = o_.dist_bucket_mb;
    reducer_ = std::make_unique<GradientReducer>(trainable_, *group_, buckets);
    log::info("gradients averaged in " + std::to_string(reducer_->num_buckets()) + " bucket(s) of at most " +
              nlohmann::json(o_.dist_bucket_mb).dump() + " MiB, summed while the backward pass runs");
  }
  if (resuming) {
    model::load_state_dict(*net_, io::read_safetensors(dir_.last()), /*strict=*/true, dir_.last());
    state_ = ResumeState::load(dir_.resume_state(), *optimizer_, *strategy_, device_);
    if (commit_ && (state_.global_step != commit_->global_step || state_.epoch != commit_->epoch ||
                    state_.step_in_epoch != commit_->step_in_epoch))
      throw Error(dir_.resume_state() + ": holds epoch " + std::to_string(state_.epoch) + " step " +
                  std::to_string(state_.step_in_epoch) + " (global step " + std::to_string(state_.global_step) + "), but " +
                  dir_.commit() + " records epoch " + std::to_string(commit_->epoch) + " step " +
                  std::to_string(commit_->step_in_epoch) + " (global step " + std::to_string(commit_->global_step) + ")");
    if (std::filesystem::exists(dir_.best())) best_point_ = infer::read_deployment(dir_.best(), S).operating_point;
    if (is_main()) truncate_log_at_resume();
  }
}

// The log keeps what happened up to the resumed state: lines written after it (by a run killed
// before its next checkpoint) would be written again, so they are dropped, and the resumption is
// marked.
void Session::truncate_log_at_resume() {
  if (!fs::exists(dir_.log())) return;
  std::istringstream in(io::read_file(dir_.log()));
  std::string kept;
  std::size_t dropped = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    nlohmann::json j;
    try {
      j = parse_json(line, dir_.log());
    } catch (const Error&) {
      ++dropped;  // a line cut short by the kill
      continue;
    }
    const bool after = j.is_object() && j.contains("global_step") && j["global_step"].is_number_integer() &&
                       (j["global_step"].get<std::int64_t>() > state_.global_step ||
                        (j.value("type", "") == "epoch" && j.value("epoch", std::int64_t{0}) > state_.epoch));
    if (after) {
      ++dropped;
      continue;
    }
    kept += line + "\n";
  }
  kept += nlohmann::json{{"type", "resume"}, {"epoch", state_.epoch + 1}, {"step", state_.step_in_epoch},
                         {"global_step", state_.global_step}, {"dropped_lines", dropped}}.dump() + "\n";
  io::write_file_atomically(dir_.log(), [&](std::ostream& out) { out << kept; });
}

void Session::save_state(std::int64_t next_epoch, std::int64_t next_step) {
  if (!is_main()) return;  // the main process writes the run's files; every process can resume from them
  ResumeState s = state_;
  s.epoch = next_epoch;
  s.step_in_epoch = next_step;
  commit_ = commit_state(
      dir_, commit_, next_epoch, next_step, state_.global_step,
      [&](const std::string& path) {
        infer::save_checkpoint(path, *net_, deployment(),
                               {{"epoch", next_epoch}, {"step_in_epoch", next_step}, {"global_step", state_.global_step}});
      },
      [&](const std::string& path) { s.save(path, *optimizer_, *strategy_, device_); });
}

StepResult Session::optimize(const data::Batch& batch, std::int64_t epoch, std::int64_t num_steps) {
  // non_blocking: from the loader's page-locked batches (CUDA) the copies overlap the queue's work
  const auto move = [&](const torch::Tensor& t) { return t.to(device_, /*non_blocking=*/true); };
  TrainBatch b{move(batch.rgb), move(batch.depth), move(batch.ir), move(batch.label), move(batch.domain)};
  b.epoch = epoch;
  b.progress = (static_cast<double>(epoch) + static_cast<double>(state_.step_in_epoch) / static_cast<double>(num_steps)) /
               static_cast<double>(o_.epochs);
  try {
    if (!is_main()) torch::manual_seed(rank_step_seed(o_.seed, group_->rank(), state_.global_step));
    std::optional<GradientReducer::Scope> reducing;  // the strategy's backward_step averages while it runs
    if (reducer_) reducing.emplace(*reducer_);
    StepResult result = strategy_->step(*net_, b);
    const bool averaged_in_backward = reducing && reducing->reduced();
    reducing.reset();
    if (group_ && !strategy_->reduces_gradients() && !averaged_in_backward) {  // data-parallel: the mean gradient of the global batch
      std::vector<torch::Tensor> reduced;
      for (auto& p : trainable_)
        if (p.grad().defined()) reduced.push_back(p.grad());
      auto loss = torch::tensor({result.loss}, torch::kDouble);
      reduced.push_back(loss);
      group_->average(reduced);
      result.loss = loss.item<double>();
    }
    if (averaged_in_backward) result.log["buckets_during_backward"] = reducer_->started_during_backward();
    if (group_) result.log["process_batch"] = b.labels.size(0);  // this process's slice of the global batch
    if (o_.grad_clip > 0) clip_gradient_norm(trainable_, o_.grad_clip);
    optimizer_->step();
    strategy_->after_step();
    return result;
  } catch (const NonFiniteLoss& e) {
    const std::string saved = fs::exists(dir_.last()) ? "the last good checkpoint is " + dir_.last()
                                                       : "nothing was saved yet (the first epoch did not finish)";
    throw Error(at_step(epoch, state_.step_in_epoch) + ": " + e.what() + "; stopped, " + saved +
                ". HINT: lower --lr or set --grad-clip");
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    if (what.find("out of memory") == std::string::npos) throw;
    save_state(epoch, state_.step_in_epoch);
    throw Error(at_step(epoch, state_.step_in_epoch) + ": out of memory; a resumable state was saved in " + dir_.path() +
                ". HINT: lower --batch-size");
  }
}

bool Session::train_epoch(std::int64_t epoch) {
  const std::uint64_t epoch_seed = static_cast<std::uint64_t>(o_.seed) * 1000003ull + static_cast<std::uint64_t>(epoch);
  const auto epoch_start = std::chrono::steady_clock::now();
  strategy_->begin_epoch(*net_, train_set_.get(), epoch);  // e.g. prototypes from a pass over the training set
  std::vector<std::vector<std::size_t>> batches =
      o_.balanced ? data::BalancedSampler(*train_set_, static_cast<std::size_t>(o_.batch_size)).epoch(epoch_seed)
                  : data::ShuffledSampler(train_set_->size(), static_cast<std::size_t>(o_.batch_size)).epoch(epoch_seed);
  if (o_.steps_per_epoch > 0 && batches.size() > static_cast<std::size_t>(o_.steps_per_epoch))
    batches.resize(static_cast<std::size_t>(o_.steps_per_epoch));
  const auto num_steps = static_cast<std::int64_t>(batches.size());
  std::size_t first_slot = 0;  // this process's slice of each global batch (augmentation draws follow the slot)
  if (group_) {
    const auto share = static_cast<std::size_t>(o_.batch_size / group_->size());
    first_slot = share * static_cast<std::size_t>(group_->rank());
    for (auto& batch : batches) {
      const auto begin = std::min(first_slot, batch.size()), end = std::min(first_slot + share, batch.size());
      batch = std::vector<std::size_t>(batch.begin() + static_cast<std::ptrdiff_t>(begin),
                                       batch.begin() + static_cast<std::ptrdiff_t>(end));
      if (batch.empty())
        throw Error("epoch " + std::to_string(epoch + 1) + ": a batch holds too few samples for process " +
                    std::to_string(group_->rank()) + " of " + std::to_string(group_->size()) +
                    " (the training set is smaller than the batch). HINT: fewer processes or a smaller --batch-size");
    }
  }
  data::DataLoader loader(*train_set_, batches, static_cast<int>(o_.workers), o_.augment, epoch_seed, 4,
                          static_cast<std::size_t>(state_.step_in_epoch), /*pin_memory=*/device_.is_cuda(), first_slot);
  net_->train();
  Progress progress("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(o_.epochs), num_steps);
  const auto steps_start = std::chrono::steady_clock::now();
  double loss_sum = 0;
  std::int64_t loss_count = 0;
  for (auto& step = state_.step_in_epoch; step < num_steps; ++step) {
    if (group_) fail_if_told(group_->rank(), state_.global_step);
    if (any_interrupted()) {
      progress.finish("interrupted");
      save_state(epoch, step);
      log::info("interrupted at epoch " + std::to_string(epoch + 1) + " step " + std::to_string(step) + ": saved " +
                dir_.resume_state() + "; continue with --resume " + dir_.path());
      return false;
    }
    const auto step_start = std::chrono::steady_clock::now();
    const double collective_start = group_ ? group_->seconds_in_collectives() : 0;
    StepResult result = optimize(*loader.next(), epoch, num_steps);
    if (group_) result.log["seconds_collectives"] = group_->seconds_in_collectives() - collective_start;
    last_loss_ = result.loss;
    loss_sum += result.loss;
    ++loss_count;
    ++state_.global_step;
    ++steps_this_run_;
    if (is_main() && (state_.global_step % o_.log_every == 0 || step + 1 == num_steps)) {
      nlohmann::json line = {{"type", "step"}, {"epoch", epoch + 1}, {"step", step + 1}, {"global_step", state_.global_step},
                             {"loss", result.loss}};
      line.update(result.log);
      line["lr"] = o_.lr;
      line["seconds"] = seconds_since(step_start);
      append_log(dir_.log(), line);
      log::debug("step " + std::to_string(state_.global_step) + " (epoch " + std::to_string(epoch + 1) + " step " +
                 std::to_string(step + 1) + "): " + line.dump());
    }
    std::ostringstream note;
    note.precision(4);
    note << "loss " << loss_sum / static_cast<double>(loss_count) << " "
         << (step + 1) * o_.batch_size / std::max(1e-9, seconds_since(steps_start)) << " samples/s";
    progress.update(step + 1, note.str());
  }
  progress.finish();
  state_.step_in_epoch = 0;
  nlohmann::json epoch_log = {{"type", "epoch"}, {"epoch", epoch + 1}, {"global_step", state_.global_step},
                              {"loss", loss_count ? loss_sum / static_cast<double>(loss_count) : 0.0}};
  epoch_log.update(strategy_->end_epoch());
  if (const auto norms = adapter_up_norms(*net_); !norms.empty()) epoch_log["adapter_up_norm"] = norms;
  epoch_log["seconds"] = seconds_since(epoch_start);  // training: the strategy's epoch start and the steps
  evaluate_and_select(epoch, epoch_log);
  if (is_main()) append_log(dir_.log(), epoch_log);
  save_state(epoch + 1, 0);
  return true;
}

void Session::evaluate_and_select(std::int64_t epoch, nlohmann::json& epoch_log) {
  bool is_best = !val_set_;
  if (val_set_) {
    const auto scores = eval::score_dataset(*net_, *val_set_, o_.eval_batch_size, device_, static_cast<int>(o_.workers),
                                            group_, static_cast<std::uint64_t>(o_.seed));
    const auto summary = eval::summarize(scores);
    const double val_loss = eval::cross_entropy(scores);
    epoch_log["val_loss"] = val_loss;
    if (val_loss < state_.best_val_loss) {
      state_.best_val_loss = val_loss;
      state_.best_val_loss_epoch = epoch + 1;
    }
    epoch_log["val_auc"] = summary.auc;
    epoch_log["val_hter"] = summary.hter;
    epoch_log["val_eer_threshold"] = summary.eer_threshold;
    is_best = summary.hter < state_.best_hter || (summary.hter == state_.best_hter && summary.auc > state_.best_auc);
    if (is_best) {
      state_.best_hter = summary.hter;
      state_.best_auc = summary.auc;
      best_point_ = infer::OperatingPoint{summary.eer_threshold, "source-val EER threshold of the best epoch", epoch + 1,
                                          summary.hter, summary.auc};
    }
    log::info("epoch " + std::to_string(epoch + 1) + ": val HTER " + eval::percent_text(summary.hter) + " %, AUC " +
              eval::percent_text(summary.auc) + " %" + (is_best ? " (best)" : ""));
  }
  if (is_best) {
    state_.best_epoch = epoch + 1;
    if (is_main())
      infer::save_checkpoint(dir_.best(), *net_, deployment(),
                           {{"epoch", epoch + 1}, {"val_hter", state_.best_hter}, {"val_auc", state_.best_auc}});
  }
  epoch_log["best"] = is_best;
}

TrainResult Session::run() {
  TrainResult result;
  std::int64_t epoch = state_.epoch;
  for (; epoch < o_.epochs; ++epoch) {
    // --patience: checked before each epoch, so a resumed run that had stopped stays stopped
    if (o_.patience > 0 && val_set_ && state_.best_val_loss_epoch > 0 && epoch - state_.best_val_loss_epoch >= o_.patience) {
      log::info("stopped after epoch " + std::to_string(epoch) + ": the validation loss has not improved for " +
                std::to_string(o_.patience) + " epochs (lowest at epoch " + std::to_string(state_.best_val_loss_epoch) + ")");
      if (is_main())
        append_log(dir_.log(), {{"type", "stopped"}, {"epoch", epoch}, {"global_step", state_.global_step}, {"reason", "patience"},
                                {"best_val_loss_epoch", state_.best_val_loss_epoch}});
      result.stopped_early = true;
      break;
    }
    const bool finished = train_epoch(epoch);
    result.last_loss = last_loss_;
    if (!finished) {
      result.epochs_done = epoch;
      return result;
    }
    if (any_interrupted() && epoch + 1 < o_.epochs) {
      log::info("interrupted after epoch " + std::to_string(epoch + 1) + ": saved " + dir_.resume_state() +
                "; continue with --resume " + dir_.path());
      result.epochs_done = epoch + 1;
      return result;
    }
  }
  result.completed = true;
  result.epochs_done = epoch;
  result.best_epoch = state_.best_epoch;
  result.best_hter = state_.best_hter;
  result.best_auc = state_.best_auc;
  return result;
}

}  // namespace

void install_interrupt_handlers() {
  g_interrupted = false;  // a new command (a Python process may run several, one after an interrupted one)
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

bool interrupt_requested() { return g_interrupted.load(); }

void TrainOptions::validate() const {
  const auto require = [](bool ok, const std::string& option, const std::string& why) {
    if (!ok) throw UsageError("option " + option + ": " + why);
  };
  find_strategy(strategy);
  require(epochs > 0 && epochs <= 100000, "epochs", "must be in [1, 100000]");
  require(batch_size > 0 && batch_size <= 65536, "batch_size", "must be in [1, 65536]");
  require(lr > 0 && std::isfinite(lr), "lr", "must be a positive finite number");
  require(weight_decay >= 0 && std::isfinite(weight_decay), "weight_decay", "must be a finite number >= 0");
  require(grad_clip >= 0, "grad_clip", "must be >= 0");
  require(ssp_weight >= 0, "ssp_weight", "must be >= 0");
  require(loss_momentum >= 0 && loss_momentum < 1, "loss_momentum", "must be in [0, 1)");
  require(prototype_momentum >= 0 && prototype_momentum < 1, "prototype_momentum", "must be in [0, 1)");
  require(workers >= 0 && workers <= 64, "workers", "must be in [0, 64]");
  require(steps_per_epoch >= 0, "steps_per_epoch", "must be >= 0");
  require(patience >= 0, "patience", "must be >= 0");
  require(regrad_scope == ReGradScope::All || regrad != ReGradVariant::None, "regrad_scope",
          "as-released needs a ReGrad variant other than none (none sums the gradients of every tensor)");
  require(log_every > 0, "log_every", "must be positive");
  require(eval_batch_size > 0 && eval_batch_size <= 65536, "eval_batch_size", "must be in [1, 65536]");
  require(dist_timeout > 0 && dist_timeout <= 86400, "dist_timeout", "must be in (0, 86400] seconds");
  require(dist_bucket_mb >= 0 && dist_bucket_mb <= 65536, "dist_bucket_mb", "must be in [0, 65536] MiB");
  augment.validate();
  const auto fraction = [&](double v, const char* option) { require(v >= 0 && v <= 1, option, "must be in [0, 1]"); };
  const auto non_negative = [&](double v, const char* option) { require(v >= 0, option, "must be >= 0"); };
  non_negative(ssdg.triplet_weight, "ssdg_triplet_weight");
  non_negative(ssdg.adversarial_weight, "ssdg_adversarial_weight");
  non_negative(ssdg.triplet_margin, "ssdg_triplet_margin");
  non_negative(ssan.contrast_weight, "ssan_contrast_weight");
  non_negative(ssan.adversarial_weight, "ssan_adversarial_weight");
  require(ssan.block >= -1, "ssan_block", "must be a block index or -1");
  non_negative(iadg.whitening_weight, "iadg_whitening_weight");
  fraction(iadg.live_selection, "iadg_live_selection");
  fraction(iadg.spoof_selection, "iadg_spoof_selection");
  require(iadg.style_bank > 0, "iadg_style_bank", "must be positive");
  require(iadg.block >= -1, "iadg_block", "must be a block index or -1");
  require(iadg.warmup_epochs >= 0, "iadg_warmup_epochs", "must be >= 0");
  non_negative(pmr.pce_weight, "pmr_pce_weight");
  non_negative(pmr.entropy_weight, "pmr_entropy_weight");
  fraction(pmr.entropy_until, "pmr_entropy_until");
  fraction(pmr.until, "pmr_until");
  require(pmr.subset > 0 && pmr.subset <= 1, "pmr_subset", "must be in (0, 1]");
  require(pmr.prototype_momentum >= 0 && pmr.prototype_momentum < 1, "pmr_prototype_momentum", "must be in [0, 1)");
  non_negative(ogm_ge.alpha, "ogm_ge_alpha");
  fraction(ogm_ge.until, "ogm_ge_until");
  fraction(cmfl.weight, "cmfl_weight");
  non_negative(cmfl.gamma, "cmfl_gamma");
  settings::check_finite(*this);  // the rest: e.g. ssp_weight inf passed ">= 0"
}

nlohmann::json RunConfig::to_json() const {
  return {{"model", settings::to_json(model)}, {"train", settings::to_json(train)}, {"data", settings::to_json(data)}};
}

nlohmann::json read_config_json(const std::string& path) {
  return parse_json(io::read_file(path), path + ": not valid JSON");
}

TrainOptions train_options_from_config(const nlohmann::json& j, const std::string& context) {
  TrainOptions options;
  if (!j.is_object() || !j.contains("train")) return options;
  nlohmann::json train = j["train"];
  const bool legacy = !train.contains("strategy") && j.contains("model") && j["model"].is_object() &&
                      j["model"].contains("method") && j["model"]["method"].is_string();
  if (legacy) train["strategy"] = strategy_of_legacy_method(j["model"]["method"].get<std::string>());
  settings::from_json(options, train, context + " (train)");
  return options;
}

RunConfig RunConfig::read(const std::string& path) {
  const nlohmann::json j = read_config_json(path);
  if (!j.is_object() || !j.contains("model") || !j.contains("train") || !j.contains("data"))
    throw Error(path + ": not a run's config.json (expected \"model\", \"train\" and \"data\")");
  RunConfig c;
  c.model = model::NetworkOptions::from_json(j["model"], path + " (model)");
  c.train = train_options_from_config(j, path);
  settings::from_json(c.data, j["data"], path + " (data)");
  return c;
}

Trainer::Trainer(model::NetworkOptions model, TrainOptions options, TrainData data, std::string run_dir)
    : config_{std::move(model), std::move(options), std::move(data)}, run_dir_(std::move(run_dir)) {
  if (const auto& configure = find_strategy(config_.train.strategy).configure_network) configure(config_.model);
  config_.model.validate();
  config_.train.validate();
  check_compatible(config_.train.strategy, config_.model.network);
  check_options_for_network(config_.train, config_.model);
  if (config_.data.train_lists.empty()) throw UsageError("option --train: give at least one training list (one per source domain)");
  const auto env = dist::environment();
  if (env.distributed() && config_.train.batch_size % env.world_size != 0)
    throw UsageError("option batch_size: " + std::to_string(config_.train.batch_size) + " does not split evenly between " +
                     std::to_string(env.world_size) + " processes (WORLD_SIZE)");
  if (env.rank == 0 && RunDir(run_dir_).has_run())  // the main process creates the run; the others join it
    throw Error(run_dir_ + " already holds a run. HINT: continue it with --resume " + run_dir_ + ", or choose another --out");
}

Trainer Trainer::resume(const std::string& run_dir, const std::function<void(TrainData&)>& relocate) {
  const RunDir dir(run_dir);
  if (!dir.has_run()) throw Error(run_dir + ": no run to resume (config.json missing)");
  Trainer t;
  t.config_ = RunConfig::read(dir.config());
  if (relocate) {
    TrainData moved = t.config_.data;
    relocate(moved);
    moved.pretrained = t.config_.data.pretrained;  // used at the start only
    if (settings::to_json(moved) != settings::to_json(t.config_.data)) {
      log::info(run_dir + ": data locations given now replace the saved ones:\n" + settings::describe(moved));
      t.config_.data = moved;
      io::write_file_atomically(dir.config(), [&](std::ostream& out) { out << t.config_.to_json().dump(1) << "\n"; });
    }
  }
  t.config_.train.interrupt_after_steps = 0;  // a testing aid of the interrupted run only
  t.run_dir_ = run_dir;
  t.continuing_ = true;
  return t;
}

TrainResult Trainer::run() {
  const RunDir dir(run_dir_);
  const auto env = dist::environment();
  std::unique_ptr<dist::ProcessGroup> group;
  if (env.distributed()) {
    group = std::make_unique<dist::ProcessGroup>(
        env, std::chrono::milliseconds(static_cast<std::int64_t>(config_.train.dist_timeout * 1000)));
    if (!group->is_main()) {  // the main process writes the run's files and logs; the others follow it
      log::set_console_level(log::Level::warning);
      group->barrier();  // the main process has written the config or recovered the committed state
      std::optional<CommitRecord> commit = recover_state(dir);  // nothing left to complete: checks the files
      const bool resuming = continuing_ && (fs::exists(dir.last()) || fs::exists(dir.resume_state()));
      Session session(config_, dir, resuming, resuming ? commit : std::nullopt, group.get());
      return session.run();
    }
  }
  fs::create_directories(run_dir_);
  return log::with_log_file(dir.text_log(), [&] {
    std::optional<CommitRecord> commit;
    bool resuming = false;
    if (continuing_) {
      commit = recover_state(dir);  // completes or drops a commit cut short; verifies the files
      resuming = fs::exists(dir.last()) || fs::exists(dir.resume_state());
      if (!resuming) {
        // killed before its first commit (kill -9 in epoch 1, a data error found late): nothing to
        // continue from, so the run starts over from its config, without the attempt's log lines
        log::info(run_dir_ + ": nothing was saved yet; starting the run over");
        fs::remove(dir.log());
      } else if (!commit) {
        log::info(run_dir_ + ": no commit.json (a run of an older version): last.safetensors and resume.pt are used unchecked");
      }
    } else {
      io::write_file_atomically(dir.config(), [&](std::ostream& out) { out << config_.to_json().dump(1) << "\n"; });
    }
    log::info("run " + run_dir_ + (resuming ? " (resumed)" : "") + "\nmodel options:\n" + settings::describe(config_.model) +
              "training options:\n" + settings::describe(config_.train) + "data:\n" + settings::describe(config_.data));
    log::debug(runtime_summary());
    if (group) {
      log::info("process 0 of " + std::to_string(group->size()) + " (batch " + std::to_string(config_.train.batch_size) +
                " in all, " + std::to_string(config_.train.batch_size / group->size()) + " per process)");
      group->barrier();
    }
    Session session(config_, dir, resuming, commit, group.get());
    return session.run();
  });
}

}  // namespace mmdg::train
