// The Python module `mmdg._mmdg`, a thin front end like the CLI (python/mmdg/__init__.py imports
// torch, then this). Tensors cross as torch.Tensor without copies: Debian's python3-torch and
// libtorch-dev are one LibTorch, so a tensor here and there is the same TensorImpl and autograd
// is one engine (a Python loss.backward() fills the .grad of the library's parameters).
//
//   net = mmdg.make_network("mmdg_mini", network="vit-uadapter")   # the CLI's model options
//   out = net(rgb, depth, ir)                                        # dict of tensors
//   p = mmdg.Predictor("best.safetensors").predict_files(["a_rgb.jpg"], ["a_depth.png"], ["a_ir.png"])
//
// Errors of the library (bad options, files, shapes) are raised as mmdg.Error with its message.
// Long calls (forward passes, prediction) release the GIL.
#include <pybind11/stl.h>
#include <torch/extension.h>

#include <nlohmann/json.hpp>

#include <array>
#include <csignal>
#include <optional>
#include <tuple>
#include <string>
#include <utility>
#include <vector>

#include "mmdg/data/corruption.h"
#include "mmdg/data/dataset.h"
#include "mmdg/data/image.h"
#include "mmdg/eval/bootstrap.h"
#include "mmdg/eval/metrics.h"
#include "mmdg/eval/report.h"
#include "mmdg/experiment/protocol.h"
#include "mmdg/experiment/stress.h"
#include "mmdg/infer/predictor.h"
#include "mmdg/io/safetensors.h"
#include "mmdg/io/weights_file.h"
#include "mmdg/model/module_state.h"
#include "mmdg/model/network.h"
#include "mmdg/train/regrad.h"
#include "mmdg/train/ssp_loss.h"
#include "mmdg/train/strategy.h"
#include "mmdg/train/trainer.h"
#include "mmdg/util/build_info.h"
#include "mmdg/util/enum_names.h"
#include "mmdg/util/error.h"
#include "mmdg/util/runtime.h"
#include "mmdg/util/settings.h"

namespace py = pybind11;

namespace {

using mmdg::Error;

// ---- conversions ------------------------------------------------------------------------------

// A Python value (None, bool, int, float, str, list/tuple, dict) as JSON, for the options.
nlohmann::json to_json(const py::handle& value, const std::string& where) {
  if (value.is_none()) return nullptr;
  if (py::isinstance<py::bool_>(value)) return value.cast<bool>();
  if (py::isinstance<py::int_>(value)) return value.cast<std::int64_t>();
  if (py::isinstance<py::float_>(value)) return value.cast<double>();
  if (py::isinstance<py::str>(value)) return value.cast<std::string>();
  if (py::isinstance<py::list>(value) || py::isinstance<py::tuple>(value)) {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& item : value) items.push_back(to_json(item, where));
    return items;
  }
  if (py::isinstance<py::dict>(value)) {
    nlohmann::json object = nlohmann::json::object();
    for (const auto& [key, item] : value.cast<py::dict>()) object[py::str(key).cast<std::string>()] = to_json(item, where);
    return object;
  }
  throw Error(where + ": cannot use a value of type " + py::str(py::type::of(value).attr("__name__")).cast<std::string>());
}

py::object to_python(const nlohmann::json& j) {
  if (j.is_null()) return py::none();
  if (j.is_boolean()) return py::bool_(j.get<bool>());
  if (j.is_number_integer()) return py::int_(j.get<std::int64_t>());
  if (j.is_number()) return py::float_(j.get<double>());
  if (j.is_string()) return py::str(j.get<std::string>());
  if (j.is_array()) {
    py::list items;
    for (const auto& item : j) items.append(to_python(item));
    return std::move(items);
  }
  py::dict object;
  for (const auto& [key, item] : j.items()) object[py::str(key)] = to_python(item);
  return std::move(object);
}

py::object tensor_or_none(const torch::Tensor& t) { return t.defined() ? py::cast(t) : py::none(); }

py::list tensors3(const std::array<torch::Tensor, 3>& t) {
  py::list out;
  for (const auto& x : t) out.append(tensor_or_none(x));
  return out;
}

mmdg::io::StateDict state_dict_of(const py::dict& d) {
  mmdg::io::StateDict state;
  for (const auto& [key, value] : d) {
    const std::string name = py::str(key).cast<std::string>();
    if (!THPVariable_Check(value.ptr())) throw Error("state dict entry '" + name + "': not a torch.Tensor");
    state.insert(name, value.cast<torch::Tensor>());
  }
  return state;
}

py::dict dict_of(const mmdg::io::StateDict& state) {
  py::dict out;
  for (const auto& item : state) out[py::str(item.key())] = item.value();
  return out;
}

// Runs `score` (a call of `predictor`) without the GIL; its prediction as a dict.
template <class Score>
py::dict scored(const mmdg::infer::Predictor& predictor, Score&& score) {
  mmdg::infer::Prediction p;
  {
    py::gil_scoped_release release;
    p = score();
  }
  py::dict out;
  out["live_probability"] = p.live_probability;
  out["live"] = py::cast(p.live);
  out["threshold"] = predictor.scoring().threshold;
  out["reliability_maps"] = tensors3(p.reliability_maps);
  out["mean_reliability"] = tensors3(p.mean_reliability);
  return out;
}

// ---- networks ---------------------------------------------------------------------------------

// A network as PyTorch code sees one: call it on tensors, train it with torch.optim on
// parameters(), read and load state dicts in the released code's key layout.
class PyNetwork {
 public:
  explicit PyNetwork(mmdg::model::Network net) : net_(std::move(net)) {}

  py::dict forward(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir, bool attention_maps) {
    mmdg::model::NetworkOutput out;
    {
      py::gil_scoped_release release;
      mmdg::model::ForwardOptions options;
      options.attention_maps = attention_maps;
      out = net_->forward(rgb, depth, ir, options);
    }
    py::dict d;
    d["logits"] = out.logits;
    d["features"] = tensors3(out.features);
    d["embedding"] = tensor_or_none(out.embedding);
    d["modality_logits"] = tensors3(out.modality_logits);
    d["reliability"] = tensors3(out.reliability);
    d["class_reliability"] = tensors3(out.class_reliability);
    d["regularizer"] = tensor_or_none(out.regularizer);
    d["map"] = tensor_or_none(out.map);
    py::dict attention;
    for (const auto& [key, value] : out.attention) attention[py::str(key)] = value;
    d["attention"] = attention;
    return d;
  }

  py::list named_parameters() const {
    py::list out;
    for (const auto& p : net_->named_parameters()) out.append(py::make_tuple(p.key(), p.value()));
    return out;
  }
  py::list parameters() const {
    py::list out;
    for (const auto& p : net_->parameters()) out.append(p);
    return out;
  }
  py::dict state_dict() const { return dict_of(mmdg::model::module_state_dict(*net_)); }
  py::dict load_state_dict(const py::dict& state, bool strict) {
    const auto report = mmdg::model::load_state_dict(*net_, mmdg::model::from_released_layout(state_dict_of(state)), strict,
                                                     "load_state_dict");
    py::dict out;
    out["missing"] = report.missing;
    out["unexpected"] = report.unexpected;
    out["mismatched"] = report.mismatched;
    return out;
  }
  PyNetwork& train(bool mode) {
    net_->train(mode);
    return *this;
  }
  bool training() const { return net_->is_training(); }
  PyNetwork& to(const std::string& device) {
    net_->to(torch::Device(device));
    return *this;
  }
  int branch_of(const std::string& name) const { return net_->branch_of(name); }
  std::string group_of(const std::string& name) const { return net_->group_of(name); }
  py::object options() const { return to_python(mmdg::settings::to_json(net_->options())); }
  std::string repr() const {
    const auto counts = mmdg::model::count_parameters(*net_);
    return "<mmdg.Network " + net_->options().network + ": " + std::to_string(counts.total) + " parameters, " +
           std::to_string(counts.trainable) + " trainable>";
  }
  mmdg::model::NetworkImpl& impl() { return *net_; }
  const mmdg::model::Network& holder() const { return net_; }

 private:
  mmdg::model::Network net_;
};

PyNetwork make_network(const std::string& config, const py::kwargs& options) {
  auto o = mmdg::model::NetworkOptions::preset(config);
  mmdg::settings::from_json(o, to_json(options, "make_network"), "make_network");
  return PyNetwork(mmdg::model::make_network(o));
}

// ---- strategies -----------------------------------------------------------------------------

// A training strategy (a method's losses and gradient rule, mmdg/train/strategy.h) for a Python
// loop, called the way the Trainer calls it: begin_epoch (prototypes from a pass over the training
// lists: regrad, pmr), step (forward, losses, backward: the .grad of the network's trainable tensors
// and of the strategy's own, which parameters() lists for the optimizer), after_step (after the
// optimizer's step), end_epoch (the epoch's log fields). The loop owns the optimizer and the data.
class PyStrategy {
 public:
  PyStrategy(const mmdg::model::Network& net, mmdg::train::TrainOptions options, std::int64_t num_sources)
      : net_(net), options_(std::move(options)) {
    if (num_sources < 1) throw Error("Strategy: num_sources must be >= 1 (the training lists, one per source domain)");
    options_.validate();
    const auto& model = net_->options();
    mmdg::train::check_compatible(options_.strategy, model.network);
    mmdg::train::check_options_for_network(options_, model);
    // a strategy whose method prescribes network settings (SSDG's normalized head) trains only such a network
    if (const auto& configure = mmdg::train::find_strategy(options_.strategy).configure_network) {
      auto wanted = model;
      configure(wanted);
      const auto have = mmdg::settings::to_json(model), want = mmdg::settings::to_json(wanted);
      std::string differences;
      for (const auto& [key, value] : want.items())
        if (have.at(key) != value) differences += (differences.empty() ? "" : ", ") + key + "=" + value.dump();
      if (!differences.empty())
        throw Error("Strategy " + options_.strategy + ": its method trains a network with " + differences +
                    "; make the network with those options, or both with mmdg.make_method('" + options_.strategy + "', ...)");
    }
    mmdg::train::StrategyContext context;
    context.num_sources = num_sources;
    const auto params = net_->parameters();
    if (!params.empty()) context.device = params.front().device();
    context.workers = options_.workers;
    strategy_ = mmdg::train::make_strategy(options_, *net_, context);
    num_sources_ = num_sources;
  }

  py::list parameters() {
    py::list out;
    for (const auto& p : strategy_->parameters()) out.append(p);
    return out;
  }

  void begin_epoch(std::int64_t epoch, const std::vector<std::string>& lists, const std::string& data_root) {
    if (!lists.empty() && static_cast<std::int64_t>(lists.size()) != num_sources_)
      throw Error("begin_epoch: " + std::to_string(lists.size()) + " training lists for a strategy of " +
                  std::to_string(num_sources_) + " source domains (one list per source, in the batches' source order)");
    py::gil_scoped_release release;
    if (!lists.empty() && (lists != set_lists_ || data_root != set_root_)) {
      auto set = std::make_unique<mmdg::data::MultiDomainDataset>(lists, data_root, net_->options().backbone.image_size(),
                                                                  options_.normalization);
      set->check_files();
      train_set_ = std::move(set);
      set_lists_ = lists;
      set_root_ = data_root;
    }
    strategy_->begin_epoch(*net_, lists.empty() ? nullptr : train_set_.get(), epoch);
  }

  py::dict step(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir, const torch::Tensor& labels,
                const torch::Tensor& sources, std::int64_t epoch, double progress) {
    mmdg::train::StepResult result;
    {
      py::gil_scoped_release release;
      mmdg::train::TrainBatch batch{rgb, depth, ir, labels.to(torch::kLong), sources.to(torch::kLong)};
      batch.epoch = epoch;
      batch.progress = progress;
      result = strategy_->step(*net_, batch);
    }
    py::dict out;
    out["loss"] = result.loss;
    out["log"] = to_python(result.log);
    return out;
  }

  void after_step() { strategy_->after_step(); }
  py::object end_epoch() { return to_python(strategy_->end_epoch()); }
  std::string name() const { return options_.strategy; }
  py::object options() const { return to_python(mmdg::settings::to_json(options_)); }

 private:
  mmdg::model::Network net_;  // shared with the Python Network object
  mmdg::train::TrainOptions options_;
  std::int64_t num_sources_ = 0;
  std::unique_ptr<mmdg::train::Strategy> strategy_;
  std::unique_ptr<mmdg::data::MultiDomainDataset> train_set_;  // kept between epochs
  std::vector<std::string> set_lists_;
  std::string set_root_;
};

// The strategy's training options from keywords; a model option is named as one.
mmdg::train::TrainOptions strategy_options(const std::string& strategy, const py::kwargs& options) {
  mmdg::train::TrainOptions training;
  training.strategy = strategy;
  const auto given = to_json(options, "Strategy");
  const auto model_fields = mmdg::settings::to_json(mmdg::model::NetworkOptions{});
  for (const auto& [key, value] : given.items())
    if (model_fields.contains(key))
      throw Error("Strategy: '" + key + "' is a model option: give it to make_network (or use make_method)");
  mmdg::settings::from_json(training, given, "Strategy");
  return training;
}

// ---- inference ----------------------------------------------------------------------------------

std::unique_ptr<mmdg::infer::Predictor> make_predictor(const std::string& checkpoint, const std::string& device,
                                                       const std::optional<std::string>& estimator,
                                                       const std::optional<double>& threshold, std::uint64_t seed) {
  mmdg::infer::PredictorOptions o;
  o.device = torch::Device(device);
  if (estimator) o.estimator = mmdg::parse_enum<mmdg::model::Estimator>(*estimator, "estimator");
  o.threshold = threshold;
  o.draw_seed = seed;
  return std::make_unique<mmdg::infer::Predictor>(checkpoint, o);
}

std::array<bool, 3> missing_of(const std::vector<bool>& missing) {
  if (missing.size() != 3) throw Error("missing: expected 3 flags (rgb, depth, ir), got " + std::to_string(missing.size()));
  return {missing[0], missing[1], missing[2]};
}

// ---- training -----------------------------------------------------------------------------------

// Python's SIGINT / SIGTERM handlers, put back when this goes out of scope (a command of the
// library installs its own while it runs).
struct PythonSignals {
  using Handler = void (*)(int);
  Handler sigint = std::signal(SIGINT, SIG_DFL), sigterm = std::signal(SIGTERM, SIG_DFL);
  ~PythonSignals() {
    std::signal(SIGINT, sigint);
    std::signal(SIGTERM, sigterm);
  }
};

// Runs a command of the library without the GIL and with its own SIGINT / SIGTERM handlers
// (Python's put back afterwards). A command that Ctrl-C stopped (it saved a resumable state and
// threw, naming it) raises KeyboardInterrupt with its message; its other errors are mmdg.Error.
template <class Run>
auto interruptible(Run&& run) -> decltype(run()) {
  std::string interrupted;
  {
    const PythonSignals python_signals;
    py::gil_scoped_release release;
    mmdg::train::install_interrupt_handlers();
    try {
      return run();
    } catch (const Error& e) {
      if (!mmdg::train::interrupt_requested()) throw;
      interrupted = e.what();
    }
  }
  PyErr_SetString(PyExc_KeyboardInterrupt, interrupted.c_str());
  throw py::error_already_set();
}

// A method's model and training options as the commands resolve them: the preset `config`, the
// method `method` (network + strategy), then the options given as keywords (the CLI's names, with
// underscores); an unknown one is an error naming it. `where`: the function, for messages.
std::pair<mmdg::model::NetworkOptions, mmdg::train::TrainOptions> method_options(const std::string& config,
                                                                                 const std::string& method,
                                                                                 const py::kwargs& options,
                                                                                 const std::string& where) {
  auto model = mmdg::model::NetworkOptions::preset(config);
  mmdg::train::TrainOptions training;
  if (!method.empty()) {
    const auto preset = mmdg::train::resolve_method(method);
    model.network = preset.network;
    training.strategy = preset.strategy;
  }
  const auto given = to_json(options, where);
  const auto model_fields = mmdg::settings::to_json(mmdg::model::NetworkOptions{});
  const auto train_fields = mmdg::settings::to_json(mmdg::train::TrainOptions{});
  nlohmann::json for_model = nlohmann::json::object(), for_training = nlohmann::json::object();
  for (const auto& [key, value] : given.items()) {
    if (model_fields.contains(key)) for_model[key] = value;
    else if (train_fields.contains(key)) for_training[key] = value;
    else throw Error(where + ": unknown option '" + key + "' (the model and training options of mmdg " + where + ", with underscores)");
  }
  mmdg::settings::from_json(model, for_model, where);
  mmdg::settings::from_json(training, for_training, where);
  training.validate();
  return {model, training};
}

// `mmdg train` with its options as keywords.
py::dict train_run(const std::string& out, const std::vector<std::string>& train_lists, const std::vector<std::string>& val_lists,
                   const std::string& data_root, const std::string& pretrained, const std::string& config,
                   const std::string& method, const py::kwargs& options) {
  const auto [model, training] = method_options(config, method, options, "train");
  mmdg::train::TrainData data;
  data.train_lists = train_lists;
  data.val_lists = val_lists;
  data.data_root = data_root;
  data.pretrained = pretrained;
  // Ctrl-C while it runs: the trainer saves a resumable state and returns, not completed
  const auto result = interruptible([&] { return mmdg::train::Trainer(model, training, data, out).run(); });
  if (!result.completed) {
    PyErr_SetString(PyExc_KeyboardInterrupt, ("training interrupted; the run in " + out +
                                              " resumes with mmdg train --resume " + out).c_str());
    throw py::error_already_set();
  }
  py::dict d;
  d["method"] = mmdg::train::method_name(model, training.strategy);
  d["epochs_done"] = result.epochs_done;
  d["best_epoch"] = result.best_epoch;
  d["best_hter"] = result.best_hter;
  d["best_auc"] = result.best_auc;
  d["last_loss"] = result.last_loss;
  d["stopped_early"] = result.stopped_early;
  d["run"] = out;
  return d;
}

// `mmdg protocol` for one method, with its options as keywords; the results JSON as a dict.
py::object protocol_run(const std::string& out, const std::string& lists, int protocol, const std::string& sub,
                        const std::string& data_root, const std::string& pretrained, const std::vector<std::int64_t>& seeds,
                        const std::string& config, const std::string& method, const py::kwargs& options) {
  mmdg::experiment::ProtocolArgs args;
  std::tie(args.model, args.train) = method_options(config, method, options, "protocol");
  args.protocol = protocol;
  args.sub = sub;
  args.lists_dir = lists;
  args.data_root = data_root;
  args.pretrained = pretrained;
  args.out = out;
  args.seeds = seeds;
  args.method_name = mmdg::train::method_name(args.model, args.train.strategy);
  return to_python(interruptible([&] { return mmdg::experiment::run_protocol(args); }));
}

// A method's network and strategy for a Python loop, as mmdg train builds them (the method's
// network settings applied, the backbone's pretrained weights loaded when given).
py::tuple make_method(const std::string& method, std::int64_t num_sources, const std::string& config,
                      const std::string& pretrained, const py::kwargs& options) {
  auto [model, training] = method_options(config, method, options, "make_method");
  if (const auto& configure = mmdg::train::find_strategy(training.strategy).configure_network) configure(model);
  model.validate();
  mmdg::model::Network net = mmdg::model::make_network(model);
  if (!pretrained.empty()) net->load_pretrained_backbone(mmdg::io::read_weights(pretrained), pretrained);
  return py::make_tuple(PyNetwork(net), PyStrategy(net, training, num_sources));
}

// `mmdg stress` with its options as keywords; the results JSON as a dict. `checkpoints`: a list of
// "PATH" / "NAME=PATH", or a dict NAME -> path or list of paths (seeds).
py::object stress_run(const std::string& out, const std::string& list, const py::object& checkpoints,
                      const std::string& data_root, const std::string& protocol_dir, const std::string& sub,
                      const std::vector<std::string>& corruptions, const std::vector<double>& severities,
                      std::int64_t batch_size, const std::string& device, std::int64_t seed, std::int64_t resamples) {
  mmdg::experiment::StressArgs args;
  if (py::isinstance<py::dict>(checkpoints)) {
    for (const auto& [name, paths] : checkpoints.cast<py::dict>()) {
      const auto key = py::str(name).cast<std::string>();
      if (py::isinstance<py::str>(paths)) args.checkpoints.push_back(key + "=" + paths.cast<std::string>());
      else
        for (const auto& path : paths.cast<std::vector<std::string>>()) args.checkpoints.push_back(key + "=" + path);
    }
  } else if (py::isinstance<py::str>(checkpoints)) {
    args.checkpoints.push_back(checkpoints.cast<std::string>());
  } else if (!checkpoints.is_none()) {
    args.checkpoints = checkpoints.cast<std::vector<std::string>>();
  }
  args.list = list;
  args.data_root = data_root;
  args.protocol_dir = protocol_dir;
  args.sub = sub;
  args.out = out;
  args.corruptions = corruptions;
  args.severities = severities;
  args.batch_size = batch_size;
  args.device = device;
  args.seed = seed;
  args.resamples = resamples;
  return to_python(interruptible([&] { return mmdg::experiment::run_stress(args); }));
}

// ---- metrics ------------------------------------------------------------------------------------

mmdg::eval::Scores scores_of(const std::vector<double>& scores, const std::vector<int>& labels,
                             const std::vector<std::string>& videos) {
  if (scores.size() != labels.size())
    throw Error("scores and labels: " + std::to_string(scores.size()) + " scores, " + std::to_string(labels.size()) + " labels");
  if (!videos.empty() && videos.size() != scores.size())
    throw Error("videos: " + std::to_string(videos.size()) + " names for " + std::to_string(scores.size()) + " scores");
  mmdg::eval::Scores s;
  s.live_probability = scores;
  s.labels = labels;
  s.videos = videos;
  return s;
}

py::dict threshold_metrics(const mmdg::eval::ThresholdMetrics& t) {
  py::dict out;
  out["threshold"] = t.threshold;
  out["apcer"] = t.apcer;
  out["bpcer"] = t.bpcer;
  out["acer"] = t.acer;
  out["hter"] = t.hter;
  return out;
}

}  // namespace

PYBIND11_MODULE(_mmdg, m) {
  m.doc() = "mmdg: multi-modal domain-generalized face anti-spoofing (MMDG, CVPR 2024) in LibTorch";
  m.attr("__version__") = MMDG_VERSION_STRING;
  py::register_exception<Error>(m, "Error", PyExc_RuntimeError);  // UsageError too (a subclass)
  // large temporaries reuse the heap instead of fresh pages (the whole process: torch's too; see
  // mmdg/util/runtime.h; MMDG_KEEP_MALLOC_DEFAULT=1 or a MALLOC_* setting keeps the default)
  mmdg::keep_freed_memory();

  py::class_<PyNetwork>(m, "Network",
                        "A network of the library (make_network). Call it on three image batches (B, 3, S, S), "
                        "normalized; parameters() are the library's own tensors.")
      .def("forward", &PyNetwork::forward, py::arg("rgb"), py::arg("depth"), py::arg("ir"), py::arg("attention_maps") = false,
           "The outputs as a dict: logits (B, K); features, modality_logits, reliability (B, L), class_reliability: "
           "one per modality (None where the network has none); embedding; attention on request.")
      .def("__call__", &PyNetwork::forward, py::arg("rgb"), py::arg("depth"), py::arg("ir"), py::arg("attention_maps") = false)
      .def("parameters", &PyNetwork::parameters)
      .def("named_parameters", &PyNetwork::named_parameters)
      .def("state_dict", &PyNetwork::state_dict, "Parameters and buffers by name (the released code's layout).")
      .def("load_state_dict", &PyNetwork::load_state_dict, py::arg("state_dict"), py::arg("strict") = true,
           "Copies the tensors in (released or library layout); strict: any missing, unexpected or mis-shaped "
           "tensor is an error naming them. Returns {missing, unexpected, mismatched}.")
      .def("train", &PyNetwork::train, py::arg("mode") = true, py::return_value_policy::reference_internal)
      .def("eval", [](PyNetwork& n) -> PyNetwork& { return n.train(false); }, py::return_value_policy::reference_internal)
      .def_property_readonly("training", &PyNetwork::training)
      .def("to", &PyNetwork::to, py::arg("device"), py::return_value_policy::reference_internal)
      .def("branch_of", &PyNetwork::branch_of, py::arg("name"),
           "The modality branch a parameter feeds (0 rgb, 1 depth, 2 ir) or -1 if shared: ReGrad's grouping.")
      .def("group_of", &PyNetwork::group_of, py::arg("name"))
      .def_property_readonly("options", &PyNetwork::options)
      .def("__repr__", &PyNetwork::repr);
  m.def("make_network", &make_network, py::arg("config") = "mmdg_mini",
        "A network from a preset (mmdg_b16, mmdg_mini, mmdg_tiny) and the CLI's model options as keywords, "
        "e.g. make_network('mmdg_tiny', network='vit', estimator='expected').");
  m.def("network_presets", &mmdg::model::NetworkOptions::preset_names);
  m.def("network_names", &mmdg::model::network_names);

  py::class_<mmdg::infer::Predictor>(m, "Predictor",
                                     "A checkpoint loaded once for scoring, with its own input pipeline and threshold.")
      .def(py::init(&make_predictor), py::arg("checkpoint"), py::arg("device") = "cpu", py::arg("estimator") = py::none(),
           py::arg("threshold") = py::none(), py::arg("seed") = 0)
      .def(
          "predict",
          [](mmdg::infer::Predictor& p, const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir,
             const std::vector<bool>& missing) {
            const auto flags = missing_of(missing);
            return scored(p, [&] { return p.predict(rgb, depth, ir, flags); });
          },
          py::arg("rgb"), py::arg("depth"), py::arg("ir"), py::arg("missing") = std::vector<bool>{false, false, false},
          "Normalized inputs (B, 3, S, S) as the data pipeline makes them.")
      .def(
          "predict_crops",
          [](mmdg::infer::Predictor& p, const std::vector<std::array<torch::Tensor, 3>>& samples) {
            return scored(p, [&] { return p.predict_crops(samples); });
          },
          py::arg("samples"), "Face crops, one (rgb, depth, ir) triple of (3, H, W) tensors in [0, 1] per sample.")
      .def(
          "predict_files",
          [](mmdg::infer::Predictor& p, const std::vector<std::string>& rgb, const std::vector<std::string>& depth,
             const std::vector<std::string>& ir) {
            if (rgb.size() != depth.size() || rgb.size() != ir.size())
              throw Error("predict_files: " + std::to_string(rgb.size()) + " rgb, " + std::to_string(depth.size()) +
                          " depth and " + std::to_string(ir.size()) + " ir paths (one of each per sample)");
            return scored(p, [&] {
              std::vector<std::array<torch::Tensor, 3>> samples;
              for (std::size_t i = 0; i < rgb.size(); ++i)
                samples.push_back({mmdg::data::read_image(rgb[i]), mmdg::data::read_image(depth[i]), mmdg::data::read_image(ir[i])});
              return p.predict_crops(samples);
            });
          },
          py::arg("rgb"), py::arg("depth"), py::arg("ir"), "Image files (JPEG / PNG), one path of each modality per sample.")
      .def("prepare", &mmdg::infer::Predictor::prepare, py::arg("crop"), "A crop (3, H, W) in [0, 1] -> the network's input.")
      .def_property_readonly("threshold", [](const mmdg::infer::Predictor& p) { return p.scoring().threshold; })
      .def_property_readonly("image_size", [](const mmdg::infer::Predictor& p) { return p.options().backbone.image_size(); })
      .def_property_readonly("options", [](const mmdg::infer::Predictor& p) { return to_python(mmdg::settings::to_json(p.options())); })
      .def_property_readonly("notes", [](const mmdg::infer::Predictor& p) { return p.notes(); })
      .def_property_readonly(
          "network",
          [](mmdg::infer::Predictor& p) {
            // the predictor's own network (shared, not copied): its estimator and weights as loaded
            return PyNetwork(mmdg::model::Network(
                std::dynamic_pointer_cast<mmdg::model::NetworkImpl>(p.network().shared_from_this())));
          },
          py::keep_alive<0, 1>())
      .def_property_readonly(
          "deployment",
          [](const mmdg::infer::Predictor& p) {
            const auto S = p.options().backbone.image_size();
            const auto stats = mmdg::data::normalization_stats(p.scoring().normalization);
            nlohmann::json d{{"image_size", S},
                             {"normalization", mmdg::enum_name(p.scoring().normalization)},
                             {"mean", stats.mean},
                             {"std", stats.std},
                             {"threshold", p.scoring().threshold},
                             {"threshold_source", p.scoring().threshold_source},
                             {"estimator", mmdg::enum_name(p.options().estimator)},
                             {"record", p.stored().recorded ? p.stored().to_json(S) : nlohmann::json()}};
            return to_python(d);
          },
          "What scoring uses: input size, normalization (and its per-channel mean and std: (x - mean) / std on "
          "[0, 1] values), threshold and its source, estimator, and the checkpoint's "
          "deployment record (None for a checkpoint without one).");

  m.def("train", &train_run, py::arg("out"), py::arg("train"), py::arg("val") = std::vector<std::string>{},
        py::arg("data_root") = "", py::arg("pretrained") = "", py::arg("config") = "mmdg_b16", py::arg("method") = "",
        "mmdg train: trains a method on source-domain lists into the run folder `out` (created), with the CLI's model and "
        "training options as keywords, e.g. mmdg.train('run', ['C-train.txt', 'S-train.txt'], val=['C-val.txt'], "
        "data_root='synth', config='mmdg_tiny', epochs=2, steps_per_epoch=4). The GIL is released while it runs; Ctrl-C "
        "saves a resumable state and raises KeyboardInterrupt. Returns {method, epochs_done, best_epoch, best_hter, "
        "best_auc, last_loss, stopped_early, run}.");

  m.def("protocol", &protocol_run, py::arg("out"), py::arg("lists"), py::arg("protocol") = 1, py::arg("sub") = "",
        py::arg("data_root") = "", py::arg("pretrained") = "", py::arg("seeds") = std::vector<std::int64_t>{},
        py::arg("config") = "mmdg_b16", py::arg("method") = "mmdg",
        "mmdg protocol for one method: trains and tests the protocol's sub-protocols (resumable) under `out`, with the "
        "CLI's model and training options as keywords; writes the tables as the command does and returns the method's "
        "results (per sub-protocol: HTER, AUC, ...; per seed with seeds).");

  py::class_<PyStrategy>(m, "Strategy",
                         "A training strategy (a method's losses and gradient rule) for a Python loop: "
                         "Strategy(network, 'ssdg', num_sources=3, **training_options), or mmdg.make_method. Per "
                         "epoch: begin_epoch(epoch, lists, data_root); per batch: step(...) (fills .grad of the "
                         "network's trainable tensors and of parameters()), your optimizer's step, after_step(); "
                         "then end_epoch().")
      .def(py::init([](PyNetwork& network, const std::string& strategy, std::int64_t num_sources, const py::kwargs& options) {
             return PyStrategy(network.holder(), strategy_options(strategy, options), num_sources);
           }),
           py::arg("network"), py::arg("strategy"), py::arg("num_sources"),
           "The CLI's training options as keywords (e.g. ssp_weight=0.1, pmr_pce_weight=2, epochs=20: the "
           "strategies with a modulation window read epochs).")
      .def("parameters", &PyStrategy::parameters, "The strategy's own trainable tensors (discriminators, heads), for the optimizer.")
      .def("begin_epoch", &PyStrategy::begin_epoch, py::arg("epoch"), py::arg("lists") = std::vector<std::string>{},
           py::arg("data_root") = "",
           "At an epoch's start (0-based). `lists`: the training lists, one per source domain in the batches' "
           "`sources` order; the strategies that recompute state from a pass over them (regrad's SSP prototypes, "
           "pmr's class prototypes) need them and say so.")
      .def("step", &PyStrategy::step, py::arg("rgb"), py::arg("depth"), py::arg("ir"), py::arg("labels"), py::arg("sources"),
           py::arg("epoch") = 0, py::arg("progress") = 0.0,
           "One training step's forward and backward pass on normalized batches (B, 3, S, S), labels (B) (1 live) and "
           "source domains (B); progress: the fraction of the run done (gradient-reversal schedules). Sets every "
           "trainable tensor's .grad (replaced). Returns {loss, log} (log: the step's loss parts, as mmdg train logs "
           "them). A non-finite loss raises mmdg.Error before any state changes.")
      .def("after_step", &PyStrategy::after_step, "After the optimizer's step (running losses, trackers).")
      .def("end_epoch", &PyStrategy::end_epoch, "The epoch's log fields (e.g. regrad's mean SSP losses); resets them.")
      .def_property_readonly("name", &PyStrategy::name)
      .def_property_readonly("options", &PyStrategy::options)
      .def("__repr__", [](const PyStrategy& s) { return "<mmdg.Strategy " + s.name() + ">"; });
  m.def("strategy_names", &mmdg::train::strategy_names);
  m.def("make_method", &make_method, py::arg("method"), py::arg("num_sources"), py::arg("config") = "mmdg_mini",
        py::arg("pretrained") = "",
        "A method (mmdg, vit, ssdg, ..., or network+strategy) as mmdg train builds it: (Network, Strategy), with the "
        "CLI's model and training options as keywords, the method's network settings applied and the backbone's "
        "pretrained weights loaded from `pretrained` when given. Seed with torch.manual_seed first.");

  m.def("stress", &stress_run, py::arg("out"), py::arg("list"), py::arg("checkpoints") = py::none(),
        py::arg("data_root") = "", py::arg("protocol_dir") = "", py::arg("sub") = "",
        py::arg("corruptions") = std::vector<std::string>{}, py::arg("severities") = std::vector<double>{0, 0.25, 0.5, 0.75, 1},
        py::arg("batch_size") = 32, py::arg("device") = "cpu", py::arg("seed") = 0, py::arg("resamples") = 1000,
        "mmdg stress: trained detectors under corruptions of one modality at increasing severity (resumable under "
        "`out`); checkpoints: ['PATH' or 'NAME=PATH', ...] or {NAME: PATH or [PATH per seed]}, or protocol_dir and sub. "
        "Writes the command's files and returns its results JSON as a dict. Ctrl-C keeps the finished levels and "
        "raises KeyboardInterrupt.");
  m.def(
      "corruptions",
      [] {
        py::list out;
        for (const auto& c : mmdg::data::corruptions()) {
          py::dict d;
          d["name"] = c.name;
          d["modality"] = mmdg::model::modality_name(c.modality);
          d["severity"] = c.severity;
          d["local"] = c.local;
          d["normalized"] = c.normalized;
          out.append(d);
        }
        return out;
      },
      "The stress corruptions: name, modality, what the severity means, local (a mask of changed pixels comes with "
      "it), normalized (acts on the normalized input).");
  m.def(
      "corrupt",
      [](const std::string& name, const torch::Tensor& image, double severity, std::uint64_t seed) {
        mmdg::data::Corrupted c;
        {
          py::gil_scoped_release release;
          c = mmdg::data::corrupt(name, image, severity, seed);
        }
        return py::make_tuple(c.image, tensor_or_none(c.mask));
      },
      py::arg("name"), py::arg("image"), py::arg("severity"), py::arg("seed") = 0,
      "One corruption of mmdg stress applied to an image (3, S, S) in [0, 1] (normalized for the *_zero ones): "
      "(image, mask of the changed pixels or None). Deterministic in (name, severity, image, seed).");

  auto metrics = m.def_submodule("metrics", "FAS metrics on scores (live probability) and labels (1 live, 0 spoof).");
  metrics.def("auc", &mmdg::eval::auc, py::arg("scores"), py::arg("labels"));
  metrics.def(
      "at_threshold",
      [](const std::vector<double>& s, const std::vector<int>& l, double t) { return threshold_metrics(mmdg::eval::at_threshold(s, l, t)); },
      py::arg("scores"), py::arg("labels"), py::arg("threshold"), "APCER, BPCER, ACER = HTER accepting score >= threshold.");
  metrics.def(
      "equal_error_rate",
      [](const std::vector<double>& s, const std::vector<int>& l) {
        const auto e = mmdg::eval::equal_error_rate(s, l);
        py::dict out;
        out["eer"] = e.eer;
        out["threshold"] = e.threshold;
        return out;
      },
      py::arg("scores"), py::arg("labels"));
  metrics.def(
      "roc",
      [](const std::vector<double>& s, const std::vector<int>& l) {
        py::list out;
        for (const auto& p : mmdg::eval::roc(s, l)) out.append(py::make_tuple(p.threshold, p.fpr, p.tpr));
        return out;
      },
      py::arg("scores"), py::arg("labels"), "(threshold, fpr, tpr) at every distinct score, by decreasing threshold.");
  metrics.def("tpr_at_fpr", &mmdg::eval::tpr_at_fpr, py::arg("scores"), py::arg("labels"), py::arg("max_fpr"));
  metrics.def(
      "target_eer_hter",
      [](const std::vector<double>& s, const std::vector<int>& l) { return mmdg::eval::target_eer_hter(scores_of(s, l, {})); },
      py::arg("scores"), py::arg("labels"), "HTER at the EER threshold of the scores themselves (the paper's tables' policy).");
  metrics.def(
      "read_scores_csv",
      [](const std::string& path) {
        const auto scores = mmdg::eval::read_scores_csv(path);
        py::dict out;
        out["scores"] = scores.live_probability;
        out["labels"] = scores.labels;
        out["videos"] = scores.videos;
        out["attacks"] = scores.attacks;
        return out;
      },
      py::arg("path"),
      "A scores CSV as mmdg eval / predict / protocol write it: {scores, labels, videos, attacks} (videos from a "
      "video or path column, else empty).");
  metrics.def(
      "paired_hter_difference",
      [](const std::vector<std::vector<double>>& a, const std::vector<std::vector<double>>& b, const std::vector<int>& labels,
         const std::vector<std::string>& videos, int resamples, std::uint64_t seed, double level) {
        if (a.size() != b.size() || a.empty())
          throw Error("paired_hter_difference: a and b need the same number (at least 1) of score sets, one per seed; got " +
                      std::to_string(a.size()) + " and " + std::to_string(b.size()));
        std::vector<mmdg::eval::Scores> sa, sb;
        for (std::size_t k = 0; k < a.size(); ++k) {
          sa.push_back(scores_of(a[k], labels, videos));
          sb.push_back(scores_of(b[k], labels, videos));
        }
        mmdg::eval::DifferenceInterval d;
        {
          py::gil_scoped_release release;
          d = mmdg::eval::paired_hter_difference(sa, sb, resamples, seed, level);
        }
        py::dict out;
        out["difference"] = d.difference;
        out["low"] = d.low;
        out["high"] = d.high;
        out["resamples"] = d.resamples;
        out["level"] = d.level;
        out["units"] = d.units;
        out["live_units"] = d.live_units;
        out["spoof_units"] = d.spoof_units;
        return out;
      },
      py::arg("a"), py::arg("b"), py::arg("labels"), py::arg("videos") = std::vector<std::string>{},
      py::arg("resamples") = 2000, py::arg("seed") = 0, py::arg("level") = 0.95,
      "Paired stratified bootstrap of HTER(a) - HTER(b) at each set's own EER threshold, as mmdg protocol reports "
      "it: a[k], b[k] are the two methods' scores of seed k on the same samples (labels, and videos to resample "
      "whole videos). Returns {difference, low, high, resamples, level, units, live_units, spoof_units}.");

  m.def("read_image", &mmdg::data::read_image, py::arg("path"),
        "An image file (JPEG / PNG, 8 or 16 bits) as a float tensor (3, H, W) in [0, 1], RGB; one channel replicated.");
  m.def("load_weights", [](const std::string& path) { return dict_of(mmdg::io::read_weights(path)); }, py::arg("path"),
        "All tensors of a weights file (.pth / .pt zip or legacy pickle, safetensors, .npz), read without running pickled code.");
  m.def(
      "save_safetensors",
      [](const std::string& path, const py::dict& tensors, const std::map<std::string, std::string>& metadata) {
        mmdg::io::write_safetensors(path, state_dict_of(tensors), metadata);
      },
      py::arg("path"), py::arg("tensors"), py::arg("metadata") = std::map<std::string, std::string>{});

  auto losses = m.def_submodule("losses", "The paper's losses and ReGrad, for a Python training loop.");
  losses.def("ssp_domain", &mmdg::train::ssp_domain, py::arg("labels"), py::arg("sources"),
             "The SSP domain of each sample: 0 live (any source), 1 + source for a spoof.");
  losses.def("ssp_loss", &mmdg::train::ssp_loss, py::arg("features"), py::arg("prototypes"), py::arg("valid"), py::arg("domains"),
             "Single-side prototypical loss (Eq. 6-7): features (B, C), prototypes (D, C), valid (D) bool, domains (B).");
  losses.def(
      "regrad_backward",
      [](std::vector<torch::Tensor> params, const std::vector<int>& branches, const std::vector<torch::Tensor>& weighted_ssp,
         const torch::Tensor& ce, int fast, const std::vector<double>& reliability, const std::string& variant, bool uncertainty) {
        if (weighted_ssp.size() != 3 || reliability.size() != 3)
          throw Error("regrad_backward: expected 3 SSP losses and 3 reliabilities (rgb, depth, ir)");
        mmdg::train::ReGradOptions o;
        o.variant = mmdg::parse_enum<mmdg::train::ReGradVariant>(variant, "variant");
        o.uncertainty = uncertainty;
        mmdg::train::ReGradStats stats;
        {
          py::gil_scoped_release release;
          stats = mmdg::train::regrad_backward(params, branches, {weighted_ssp[0], weighted_ssp[1], weighted_ssp[2]}, ce, fast,
                                               {reliability[0], reliability[1], reliability[2]}, o);
        }
        py::dict out;
        out["modulated"] = stats.modulated;
        out["shared"] = stats.shared;
        out["conflict_fraction"] = stats.conflict_fraction;
        return out;
      },
      py::arg("params"), py::arg("branches"), py::arg("weighted_ssp"), py::arg("ce"), py::arg("fast"), py::arg("reliability"),
      py::arg("variant") = "full", py::arg("uncertainty") = true,
      "Sets each parameter's .grad to ReGrad's combination (Eq. 5) of the three lambda-weighted SSP losses' "
      "gradients around the fast modality (-1: none), plus the CE gradient.");
}
