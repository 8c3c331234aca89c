#include "mmdg/experiment/protocol.h"

#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "mmdg/data/dataset.h"
#include "mmdg/eval/evaluate.h"
#include "mmdg/eval/report.h"
#include "mmdg/infer/checkpoint.h"
#include "mmdg/infer/infer_options.h"
#include "mmdg/io/file_util.h"
#include "mmdg/train/run_dir.h"
#include "mmdg/train/strategy.h"
#include "mmdg/train/trainer.h"
#include "mmdg/util/error.h"
#ifdef MMDG_HAVE_OPENCV
#include "mmdg/viz/figures.h"
#include "mmdg/viz/overlay.h"
#endif

namespace mmdg::experiment {
using eval::Scores;
namespace fs = std::filesystem;

std::vector<SubProtocol> protocol_subs(int protocol) {
  const std::vector<SubProtocol> p1 = {{"CPS->W", "CPS-W", "CPS", "W", {}},
                                       {"CPW->S", "CPW-S", "CPW", "S", {}},
                                       {"CSW->P", "CSW-P", "CSW", "P", {}},
                                       {"PSW->C", "PSW-C", "PSW", "C", {}}};
  if (protocol == 1) return p1;
  if (protocol == 2) {
    std::vector<SubProtocol> out;
    for (const auto& [label, missing] : std::vector<std::pair<std::string, std::array<bool, 3>>>{
             {"D missing", {false, true, false}}, {"I missing", {false, false, true}}, {"D+I missing", {false, true, true}}})
      for (auto sub : p1) {
        sub.name += " (" + label + ")";
        sub.missing = missing;
        out.push_back(sub);
      }
    return out;
  }
  if (protocol == 3) return {{"CW->PS", "CW-PS", "CW", "PS", {}}, {"PS->CW", "PS-CW", "PS", "CW", {}}};
  throw Error("option --protocol: expected 1, 2 or 3, got " + std::to_string(protocol));
}

std::string sub_file_name(const std::string& sub) {
  std::string file = sub;
  for (char& c : file)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return file;
}

std::string scores_csv_path(const std::string& out, const std::string& method, int protocol, const std::string& sub) {
  return (fs::path(out) / method / ("scores_p" + std::to_string(protocol) + "_" + sub_file_name(sub) + ".csv")).string();
}

namespace {

std::vector<std::string> lists_of(const std::string& dir, const std::string& domains, const std::string& split) {
  std::vector<std::string> lists;
  for (char d : domains) {
    const std::string path = (fs::path(dir) / (std::string(1, d) + "-" + split + ".txt")).string();
    if (!fs::exists(path)) throw Error(path + ": list not found (option --lists names the folder of {C,P,S,W}-{train,val,test}.txt)");
    lists.push_back(path);
  }
  return lists;
}

// Trains the sub-protocol's model unless it is done; resumes an interrupted run.
std::string ensure_trained(const ProtocolArgs& a, const SubProtocol& sub) {
  const std::string run = (fs::path(a.out) / a.method_name / sub.model).string();
  const train::RunDir dir(run);
  if (dir.is_done()) return run;
  train::TrainResult result;
  if (dir.has_run()) {
    std::cout << "[" << sub.model << "] resuming " << run << "\n";
    result = train::Trainer::resume(run).run();
  } else {
    std::cout << "[" << sub.model << "] training " << a.method_name << " on " << sub.sources << "\n";
    train::TrainData data;
    data.train_lists = lists_of(a.lists_dir, sub.sources, "train");
    data.val_lists = lists_of(a.lists_dir, sub.sources, "val");
    data.data_root = a.data_root;
    data.pretrained = a.pretrained;
    result = train::Trainer(a.model, a.train, data, run).run();
  }
  if (!result.completed) throw Error("interrupted while training " + run + "; run the same command again to resume");
  io::write_file_atomically(dir.done(), [&](std::ostream& out) {
    out << nlohmann::json{{"best_epoch", result.best_epoch}, {"val_hter", result.best_hter}, {"val_auc", result.best_auc}}.dump() << "\n";
  });
  return run;
}

std::string percent(double v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.2f", 100 * v);
  return buf;
}

}  // namespace

namespace {

// Scores the sub-protocol's target test list (and the sources' val lists, for the source-val
// policy) with the run's best model; writes the scores CSV; returns the report as JSON.
nlohmann::json test_sub(const ProtocolArgs& a, const SubProtocol& sub, const std::string& run) {
  const torch::Device device = infer::parse_device(a.train.device);
  auto net = infer::load_checkpoint(train::RunDir(run).best());
  net->to(device);
  net->set_precision(a.train.precision);
  const auto score = [&](const std::string& domains, const std::string& split) {
    const data::MultiDomainDataset set(lists_of(a.lists_dir, domains, split), a.data_root, net->options().backbone.image_size(),
                                       a.train.normalization, false, sub.missing);
    return eval::score_dataset(*net, set, a.train.eval_batch_size, device, static_cast<int>(a.train.workers));
  };
  const auto scores = score(sub.targets, "test");
  const auto report = eval::make_report(scores, score(sub.sources, "val"), 0.5);
  const std::string scores_path = scores_csv_path(a.out, a.method_name, a.protocol, sub.name);
  eval::write_scores_csv(scores_path, scores);
  std::cout << "[" << sub.name << "] " << a.method_name << ": HTER " << percent(report.policies[0].metrics.hter) << " %, AUC "
            << percent(report.auc) << " % (target-eer)\n";
  auto json = eval::report_json(report);
  json["scores"] = scores_path;
  return json;
}

}  // namespace

nlohmann::json run_protocol(const ProtocolArgs& a) {
  const auto subs = protocol_subs(a.protocol);
  const std::string results_path = (fs::path(a.out) / a.method_name / ("results_p" + std::to_string(a.protocol) + ".json")).string();
  nlohmann::json results = fs::exists(results_path) ? nlohmann::json::parse(io::read_file(results_path)) : nlohmann::json::object();
  results["method"] = {{"name", a.method_name},
                       {"title", train::method_title(a.model, a.train.strategy)},
                       {"network", a.model.network},
                       {"strategy", a.train.strategy}};
  bool any = false;
  for (const auto& sub : subs) {
    if (!a.sub.empty() && a.sub != sub.name && a.sub != sub.model) continue;
    any = true;
    results[sub.name] = test_sub(a, sub, ensure_trained(a, sub));
    io::write_file_atomically(results_path, [&](std::ostream& out) { out << results.dump(1) << "\n"; });
  }
  if (!any) throw Error("option --sub: '" + a.sub + "' is not a sub-protocol of protocol " + std::to_string(a.protocol));
  std::cout << write_tables(a.out, a.protocol);
  return results;
}

std::string write_tables(const std::string& out, int protocol) {
  const auto subs = protocol_subs(protocol);
  const std::string name = "results_p" + std::to_string(protocol) + ".json";
  // (row title, results) per method folder; results of earlier versions have no title: the folder name
  std::vector<std::pair<std::string, nlohmann::json>> methods;
  for (const auto& entry : fs::directory_iterator(out))
    if (entry.is_directory() && fs::exists(entry.path() / name)) {
      auto results = nlohmann::json::parse(io::read_file((entry.path() / name).string()));
      std::string title = entry.path().filename().string();
      if (results.contains("method") && results["method"].contains("title")) title = results["method"]["title"].get<std::string>();
      methods.emplace_back(title, std::move(results));
    }
  std::sort(methods.begin(), methods.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  const std::string caption = "Protocol " + std::to_string(protocol) +
                              ": HTER (%) and AUC (%) per sub-protocol; threshold policy target-eer (the threshold at "
                              "each target set's EER point, as in the paper's tables).";
  std::ostringstream md, csv;
  nlohmann::json table = {{"protocol", protocol}, {"policy", "target-eer"}, {"caption", caption}, {"rows", nlohmann::json::object()}};
  md << caption << "\n\n| method |";
  csv << "method";
  for (const auto& s : subs) {
    md << " " << s.name << " HTER | " << s.name << " AUC |";
    csv << "," << s.name << " HTER," << s.name << " AUC";
  }
  md << " avg HTER | avg AUC |\n|---|";
  csv << ",avg HTER,avg AUC\n";
  for (std::size_t i = 0; i < subs.size() + 1; ++i) md << "---|---|";
  md << "\n";
  for (const auto& [method, results] : methods) {
    md << "| " << method << " |";
    csv << method;
    double hter_sum = 0, auc_sum = 0;
    int n = 0;
    for (const auto& s : subs) {
      if (!results.contains(s.name)) {
        md << " - | - |";
        csv << ",,";
        continue;
      }
      const double hter = results[s.name]["policies"]["target-eer"]["hter"].get<double>(), auc = results[s.name]["auc"].get<double>();
      md << " " << percent(hter) << " | " << percent(auc) << " |";
      csv << "," << percent(hter) << "," << percent(auc);
      table["rows"][method][s.name] = {{"hter", hter}, {"auc", auc}};
      hter_sum += hter;
      auc_sum += auc;
      ++n;
    }
    const bool complete = n == static_cast<int>(subs.size());
    md << " " << (complete ? percent(hter_sum / n) : "-") << " | " << (complete ? percent(auc_sum / n) : "-") << " |\n";
    csv << "," << (complete ? percent(hter_sum / n) : "") << "," << (complete ? percent(auc_sum / n) : "") << "\n";
  }
#ifdef MMDG_HAVE_OPENCV
  // one ROC figure per sub-protocol, one curve per method
  for (const auto& s : subs) {
    std::vector<std::pair<std::string, Scores>> curves;
    for (const auto& [method, results] : methods)
      if (results.contains(s.name) && results[s.name].contains("scores"))
        curves.emplace_back(method, eval::read_scores_csv(results[s.name]["scores"].get<std::string>()));
    if (curves.empty()) continue;
    viz::write_png((fs::path(out) / ("roc_p" + std::to_string(protocol) + "_" + sub_file_name(s.name) + ".png")).string(),
                   viz::roc_figure("Protocol " + std::to_string(protocol) + ": " + s.name, curves));
  }
#endif
  const std::string base = (fs::path(out) / ("table_p" + std::to_string(protocol))).string();
  const std::string md_text = md.str(), csv_text = csv.str();
  io::write_file_atomically(base + ".md", [&](std::ostream& o) { o << md_text; });
  io::write_file_atomically(base + ".csv", [&](std::ostream& o) { o << csv_text; });
  io::write_file_atomically(base + ".json", [&](std::ostream& o) { o << table.dump(1) << "\n"; });
  return md_text;
}

}  // namespace mmdg::experiment
