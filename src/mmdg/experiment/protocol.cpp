#include "mmdg/experiment/protocol.h"

#include <torch/torch.h>

#include <algorithm>

#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "mmdg/data/attack_type.h"
#include "mmdg/data/dataset.h"
#include "mmdg/eval/bootstrap.h"
#include "mmdg/eval/evaluate.h"
#include "mmdg/eval/metrics.h"
#include "mmdg/eval/report.h"
#include "mmdg/infer/infer_options.h"
#include "mmdg/infer/predictor.h"
#include "mmdg/io/file_util.h"
#include "mmdg/train/run_dir.h"
#include "mmdg/train/strategy.h"
#include "mmdg/train/trainer.h"
#include "mmdg/util/build_info.h"
#include "mmdg/util/error.h"
#include "mmdg/util/hash.h"
#include "mmdg/util/json_text.h"
#include "mmdg/util/log.h"
#include "mmdg/util/process_group.h"
#include "mmdg/util/settings.h"
#ifdef MMDG_HAVE_OPENCV
#include "mmdg/viz/figures.h"
#endif

namespace mmdg::experiment {
using eval::percent_text;
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
  throw UsageError("option --protocol: expected 1, 2 or 3, got " + std::to_string(protocol));
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

nlohmann::json read_results_json(const fs::path& path) {
  return parse_json(io::read_file(path.string()), path.string() + ": not valid JSON");
}

std::vector<std::string> lists_of(const std::string& dir, const std::string& domains, const std::string& split) {
  std::vector<std::string> lists;
  for (char d : domains) {
    const std::string path = (fs::path(dir) / (std::string(1, d) + "-" + split + ".txt")).string();
    if (!fs::exists(path)) throw Error(path + ": list not found (option --lists names the folder of {C,P,S,W}-{train,val,test}.txt)");
    lists.push_back(path);
  }
  return lists;
}

// True for a training option of a strategy other than `strategy`: named after that strategy
// ("pmr_until" is pmr's, "ogm_ge_alpha" ogm-ge's, "regrad_scope" regrad's), so it cannot change
// what `strategy` trains.
bool option_of_other_strategy(const std::string& option, const std::string& strategy) {
  for (const auto& name : train::strategy_names()) {
    if (name == strategy) continue;
    std::string prefix = name + "_";
    std::replace(prefix.begin(), prefix.end(), '-', '_');
    if (option.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

// A run folder found again must hold what is asked for: the options that change what is trained
// (not the device and its numerics, threads of the loader or logging, nor other strategies' own
// options) and whether a pretrained backbone is used. Otherwise a row of a table would silently be
// another method's run.
void check_same_run(const ProtocolArgs& a, const std::string& run) {
  const auto stored = train::RunConfig::read(train::RunDir(run).config());
  model::NetworkOptions model = a.model;
  if (const auto& configure = train::find_strategy(a.train.strategy).configure_network) configure(model);
  const std::set<std::string> ignored = {"device", "deterministic", "tf32", "workers", "cache", "log_every", "eval_batch_size",
                                         "interrupt_after_steps"};
  std::string differences;
  const auto compare = [&](const nlohmann::json& was, const nlohmann::json& now) {
    for (const auto& [key, value] : now.items())
      if (!ignored.count(key) && !option_of_other_strategy(key, a.train.strategy) && was.contains(key) && was[key] != value)
        differences += (differences.empty() ? "" : ", ") + key + " " + json_excerpt(was[key]) + " (asked: " + json_excerpt(value) + ")";
  };
  compare(settings::to_json(stored.model), settings::to_json(model));
  compare(settings::to_json(stored.train), settings::to_json(a.train));
  if (stored.data.pretrained.empty() != a.pretrained.empty())
    differences += std::string(differences.empty() ? "" : ", ") + "pretrained " + (stored.data.pretrained.empty() ? "none" : "given") +
                   " (asked: " + (a.pretrained.empty() ? "none" : "given") + ")";
  if (!differences.empty())
    throw Error(run + ": this folder holds a run trained with other options: " + differences +
                ". HINT: use another --out, or remove the folder to train it again");
}

// Trains the sub-protocol's model unless it is done; resumes an interrupted run.
std::string ensure_trained(const ProtocolArgs& a, const SubProtocol& sub) {
  const std::string run = (fs::path(a.out) / a.method_name / sub.model).string();
  const train::RunDir dir(run);
  if (dir.has_run()) check_same_run(a, run);
  if (dir.is_done()) return run;
  train::TrainData data;  // the lists and data root given now
  data.train_lists = lists_of(a.lists_dir, sub.sources, "train");
  data.val_lists = lists_of(a.lists_dir, sub.sources, "val");
  data.data_root = a.data_root;
  data.pretrained = a.pretrained;
  train::TrainResult result;
  if (dir.has_run()) {
    log::info("[" + sub.model + "] resuming " + run);
    result = train::Trainer::resume(run, [&](train::TrainData& saved) {  // new locations; the pretrained weights stay
      saved.train_lists = data.train_lists;
      saved.val_lists = data.val_lists;
      saved.data_root = data.data_root;
    }).run();
  } else {
    log::info("[" + sub.model + "] training " + a.method_name + " on " + sub.sources);
    result = train::Trainer(a.model, a.train, data, run).run();
  }
  if (!result.completed) throw Error("interrupted while training " + run + "; run the same command again to resume");
  io::write_file_atomically(dir.done(), [&](std::ostream& out) {
    out << nlohmann::json{{"best_epoch", result.best_epoch}, {"val_hter", result.best_hter}, {"val_auc", result.best_auc}}.dump() << "\n";
  });
  return run;
}

}  // namespace


namespace {

// Scores the sub-protocol's target test list (and the sources' val lists, for the source-val
// policy) with the run's best model; writes the scores CSV; returns the report as JSON.
nlohmann::json test_sub(const ProtocolArgs& a, const SubProtocol& sub, const std::string& run) {
  infer::PredictorOptions options;  // the stored normalization and operating point
  options.device = infer::parse_device(a.train.device);
  options.precision = a.train.precision;
  infer::Predictor predictor(train::RunDir(run).best(), options);
  auto& net = predictor.network();
  const auto dataset = [&](const std::string& domains, const std::string& split) {
    return std::make_unique<data::MultiDomainDataset>(lists_of(a.lists_dir, domains, split), a.data_root,
                                                      net.options().backbone.image_size(), predictor.scoring().normalization,
                                                      false, sub.missing);
  };
  const auto score = [&](const data::MultiDomainDataset& set) {
    return eval::score_dataset(net, set, a.train.eval_batch_size, predictor.device(), static_cast<int>(a.train.workers),
                               nullptr, static_cast<std::uint64_t>(a.train.seed));
  };
  const auto test_set = dataset(sub.targets, "test");
  auto scores = score(*test_set);
  for (std::size_t i = 0; i < test_set->size(); ++i) scores.attacks.push_back(data::attack_type(test_set->entry(i)));
  const auto& stored = predictor.stored();
  const auto report = eval::make_report(scores, score(*dataset(sub.sources, "val")), 0.5,
                                        stored.operating_point ? std::optional<double>(stored.threshold()) : std::nullopt);
  const std::string scores_path = scores_csv_path(a.out, a.method_name, a.protocol, sub.name);
  eval::TextColumn videos{"video", {}};  // for the bootstrap over test videos
  for (std::size_t i = 0; i < test_set->size(); ++i) videos.cells.push_back(eval::video_key(test_set->entry(i).rgb));
  eval::write_scores_csv(scores_path, scores, {{videos, {"attack", scores.attacks}}, {}});
  log::info("[" + sub.name + "] " + a.method_name + ": HTER " + percent_text(report.policies[0].metrics.hter) + " %, AUC " +
            percent_text(report.auc) + " % (target-eer)");
  auto json = eval::report_json(report);
  json["scores"] = fs::path(scores_path).lexically_relative(a.out).generic_string();
  return json;
}

}  // namespace

namespace {

// The files_hash of <data_root>/manifest.json (the synthetic benchmark's), or null.
nlohmann::json data_manifest_hash(const std::string& data_root) {
  const fs::path manifest = fs::path(data_root) / "manifest.json";
  if (data_root.empty() || !fs::exists(manifest)) return nullptr;
  try {
    const auto j = nlohmann::json::parse(io::read_file(manifest.string()));
    return j.value("files_hash", std::string());
  } catch (const std::exception& e) {
    throw Error(manifest.string() + ": " + e.what());
  }
}

// What a sub-protocol's scores were computed from: the finished run's done.json, a hash of its
// weights (null when the file is absent) and the build that scored it.
nlohmann::json run_record(const std::string& run) {
  const train::RunDir dir(run);
  nlohmann::json weights = nullptr;
  if (fs::exists(dir.best())) weights = hex16(io::file_fnv1a(dir.best()));
  return {{"done", dir.done_record()},
          {"weights", weights},
          {"scored_by", std::string(MMDG_VERSION_STRING) + " (" + MMDG_GIT_DESCRIBE + ")"}};
}

// True when `entry` (a sub-protocol's stored result, scored under provenance `then`) scored this
// finished run (`record`) on the same data as now (provenance `now`), with every metric the tables
// need: scoring is deterministic (keyed draws), so scoring again would write the same file. This
// is what lets results restored without their weights (scripts/reproduce_synthetic.sh's archive)
// rejoin the tables.
bool scored_before(const std::string& out, const nlohmann::json& entry, const nlohmann::json& then, const nlohmann::json& now,
                   const nlohmann::json& record) {
  if (!entry.is_object() || !entry.contains("run") || !entry.contains("per_attack") || !entry.contains("scores")) return false;
  const auto& was = entry["run"];
  if (was.value("done", nlohmann::json()) != record["done"]) return false;
  if (!record["weights"].is_null() && was.value("weights", nlohmann::json()) != record["weights"]) return false;
  if (!then.is_object()) return false;
  for (const char* key : {"lists_dir", "data_root", "data_manifest_hash"})
    if (then.value(key, nlohmann::json()) != now[key]) return false;
  return fs::exists(stored_scores_path(out, entry));
}

// One seed's runs and results in <out>/<a.method_name>/ (method_name may end in /seed<k>).
nlohmann::json run_protocol_once(const ProtocolArgs& a) {
  const auto subs = protocol_subs(a.protocol);
  const std::string results_path = (fs::path(a.out) / a.method_name / ("results_p" + std::to_string(a.protocol) + ".json")).string();
  nlohmann::json results = fs::exists(results_path) ? read_results_json(results_path) : nlohmann::json::object();
  const nlohmann::json before = results.value("provenance", nlohmann::json());  // what the stored entries were scored on
  results["method"] = {{"name", a.method_name.substr(0, a.method_name.find('/'))},
                       {"title", a.method_title.empty() ? train::method_title(a.model, a.train.strategy) : a.method_title},
                       {"network", a.model.network},
                       {"strategy", a.train.strategy},
                       {"seed", a.train.seed}};
  // what produced the results: the build, every resolved option, the data (the synthetic
  // benchmark's manifest hash; null for other data)
  results["provenance"] = {{"mmdg", std::string(MMDG_VERSION_STRING) + " (" + MMDG_GIT_DESCRIBE + ")"},
                           {"model_options", settings::to_json(a.model)},
                           {"train_options", settings::to_json(a.train)},
                           {"protocol", a.protocol},
                           {"lists_dir", a.lists_dir},
                           {"data_root", a.data_root},
                           {"pretrained", a.pretrained},
                           {"data_manifest_hash", data_manifest_hash(a.data_root)}};
  bool any = false;
  for (const auto& sub : subs) {
    if (!a.sub.empty() && a.sub != sub.name && a.sub != sub.model) continue;
    any = true;
    const std::string run = ensure_trained(a, sub);
    const auto record = run_record(run);
    if (results.contains(sub.name) && scored_before(a.out, results[sub.name], before, results["provenance"], record)) {
      log::info("[" + sub.name + "] " + a.method_name + ": scored before (" + stored_scores_path(a.out, results[sub.name]) +
                "); kept");
      continue;
    }
    if (record["weights"].is_null())
      throw Error(run + ": the run is finished but " + train::RunDir(run).best() +
                  " is missing, and no scores of it on this data are stored to keep");
    results[sub.name] = test_sub(a, sub, run);
    results[sub.name]["run"] = record;
    io::write_file_atomically(results_path, [&](std::ostream& out) { out << results.dump(1) << "\n"; });
  }
  if (!any) throw UsageError("option --sub: '" + a.sub + "' is not a sub-protocol of protocol " + std::to_string(a.protocol));
  return results;
}

}  // namespace

nlohmann::json run_protocol(const ProtocolArgs& a) {
  if (dist::environment().distributed())  // its runs, scores and tables are written by one process
    throw UsageError("WORLD_SIZE > 1: protocol, ablate and demo run in one process; train each run with several "
                     "(mmdg launch --nproc N -- train ...) instead");
  fs::create_directories(a.out);
  return log::with_log_file((fs::path(a.out) / "protocol.log").string(), [&] {
    nlohmann::json results;
    if (a.seeds.empty()) {
      results = run_protocol_once(a);
    } else {
      for (const auto seed : a.seeds) {  // one run per seed, in <out>/<method>/seed<k>/
        ProtocolArgs one = a;
        one.seeds.clear();
        one.train.seed = seed;
        one.method_name = a.method_name + "/seed" + std::to_string(seed);
        results[std::to_string(seed)] = run_protocol_once(one);
      }
    }
    const std::string md = write_tables(a.out, a.protocol);
    log::info("tables: " + tables_base(a.out, a.protocol) + ".{md,csv,json}");
    log::debug(md);
    return results;
  });
}

std::string stored_scores_path(const std::string& out, const nlohmann::json& sub_result) {
  if (!sub_result.contains("scores") || !sub_result["scores"].is_string())
    throw Error(out + ": a results entry without its scores file");
  const fs::path stored = sub_result["scores"].get<std::string>();
  if (stored.is_absolute()) return stored.string();
  const fs::path under_out = fs::path(out) / stored;
  if (fs::exists(under_out) || !fs::exists(stored)) return under_out.string();
  return stored.string();  // an earlier version's path, relative to where that command ran
}

double target_eer_hter_of(const nlohmann::json& sub_result) {
  return sub_result["policies"]["target-eer"]["hter"].get<double>();
}

std::string write_table_files(const std::string& base, const std::string& md, const std::string& csv, const nlohmann::json& json) {
  io::write_file_atomically(base + ".md", [&](std::ostream& o) { o << md; });
  io::write_file_atomically(base + ".csv", [&](std::ostream& o) { o << csv; });
  io::write_file_atomically(base + ".json", [&](std::ostream& o) { o << json.dump(1) << "\n"; });
  return md;
}

std::string mean_and_spread(const std::vector<double>& v) {
  double mean = 0;
  for (double x : v) mean += x / static_cast<double>(v.size());
  if (v.size() < 2) return percent_text(mean);
  double var = 0;
  for (double x : v) var += (x - mean) * (x - mean) / static_cast<double>(v.size() - 1);
  return percent_text(mean) + " +- " + percent_text(std::sqrt(var));
}

std::optional<std::int64_t> seed_of_folder(const std::string& name) {
  if (name.size() <= 4 || name.size() >= 15 || name.rfind("seed", 0) != 0 ||
      name.find_first_not_of("0123456789", 4) != std::string::npos)
    return std::nullopt;
  return std::stoll(name.substr(4));
}

std::vector<MethodResults> read_method_results(const std::string& out, const std::string& folder, int protocol) {
  const std::string file = "results_p" + std::to_string(protocol) + ".json";
  const auto title_of = [&](const nlohmann::json& r) {
    return r.contains("method") && r["method"].contains("title") ? r["method"]["title"].get<std::string>() : folder;
  };
  const fs::path dir = fs::path(out) / folder;
  std::vector<MethodResults> found;
  if (!fs::is_directory(dir)) return found;
  if (fs::exists(dir / file)) {  // a single run (results of earlier versions have no title)
    MethodResults one{folder, "", {read_results_json(dir / file)}};
    one.title = title_of(one.seeds[0]);
    found.push_back(one);
  }
  std::vector<std::pair<std::int64_t, nlohmann::json>> seeds;
  for (const auto& seed_dir : fs::directory_iterator(dir)) {
    const auto seed = seed_of_folder(seed_dir.path().filename().string());
    if (seed_dir.is_directory() && seed && fs::exists(seed_dir.path() / file))
      seeds.emplace_back(*seed, read_results_json(seed_dir.path() / file));
  }
  if (seeds.empty()) return found;
  std::sort(seeds.begin(), seeds.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  MethodResults many{folder, "", {}};
  for (auto& [seed, results] : seeds) many.seeds.push_back(std::move(results));
  many.title = title_of(many.seeds[0]) + " (" + std::to_string(many.seeds.size()) + " seeds)";
  found.push_back(many);
  return found;
}

namespace {

using MethodRow = MethodResults;

// A row's place in Tables 1-3 (their method order; the title without its " (N seeds)"); rows the
// paper does not have come after its baselines and before MMDG, alphabetically.
int paper_row_rank(const std::string& title) {
  static const std::vector<std::string> order = {"SSDG", "SSAN",      "IADG",   "ViTAF", "MM-CDCN",
                                                 "CMFL", "ViT + AMA", "VP-FAS", "ViT"};
  const auto seeds = title.rfind(" (");
  const std::string base = seeds != std::string::npos && title.back() == ')' ? title.substr(0, seeds) : title;
  if (base == "MMDG") return static_cast<int>(order.size()) + 1;
  const auto at = std::find(order.begin(), order.end(), base);
  return static_cast<int>(at - order.begin());  // order.size() when not found
}

std::vector<MethodRow> collect_rows(const std::string& out, int protocol) {
  std::vector<MethodRow> rows;
  for (const auto& entry : fs::directory_iterator(out)) {
    if (!entry.is_directory()) continue;
    for (auto& row : read_method_results(out, entry.path().filename().string(), protocol)) rows.push_back(std::move(row));
  }
  std::sort(rows.begin(), rows.end(), [](const MethodRow& x, const MethodRow& y) {
    const auto rx = paper_row_rank(x.title), ry = paper_row_rank(y.title);
    return rx != ry ? rx < ry : x.title < y.title;
  });
  return rows;
}


// ISO/IEC 30107-3 per attack type, at the tables' policy (target-eer), for the rows whose results
// carry it (runs tested by this version): <out>/table_p<N>_attacks.{md,csv,json}, one Markdown
// table per sub-protocol (its attack types differ), mean +- std over seeds. Nothing without any.
void write_attack_tables(const std::string& out, int protocol, const std::vector<SubProtocol>& subs,
                         const std::vector<MethodRow>& rows) {
  const auto per_attack = [](const nlohmann::json& r) -> const nlohmann::json* {
    if (!r.contains("per_attack") || !r["per_attack"].is_object()) return nullptr;
    const auto& a = r["per_attack"];
    if (!a.contains("policies") || !a["policies"].contains("target-eer")) return nullptr;
    return &a;
  };
  std::ostringstream md, csv;
  nlohmann::json table = {{"protocol", protocol}, {"policy", "target-eer"}, {"rows", nlohmann::json::object()}};
  md << "Protocol " << protocol
     << " per attack type (ISO/IEC 30107-3), % at the threshold of each target set's EER point (as the main table): APCER "
        "of each presentation attack instrument species, APCER_PAIS (the worst species), BPCER, ACER = (APCER_PAIS + "
        "BPCER) / 2, and BPCER at the threshold where APCER_PAIS <= 5 %. Several seeds: mean +- std over seeds.\n";
  csv << "method,seeds,sub-protocol,metric,value\n";
  bool any = false;
  for (const auto& s : subs) {
    std::map<std::string, std::size_t> species;  // name -> test attacks (the first result that has it)
    for (const auto& row : rows)
      for (const auto& r : row.seeds)
        if (r.contains(s.name))
          if (const auto* a = per_attack(r[s.name]))
            for (const auto& [name, e] : (*a)["policies"]["target-eer"]["apcer"].items())
              species.emplace(name, e.value("attacks", std::size_t{0}));
    if (species.empty()) continue;
    any = true;
    md << "\n### " << s.name << "\n\nTest attacks:";
    for (const auto& [name, n] : species) md << " " << name << " " << n << ";";
    md << "\n\n| method | seeds |";
    for (const auto& [name, n] : species) md << " APCER " << name << " |";
    md << " APCER_PAIS | BPCER | ACER | BPCER @ APCER 5 % |\n|---|---|";
    for (std::size_t i = 0; i < species.size() + 4; ++i) md << "---|";
    md << "\n";
    for (const auto& row : rows) {
      std::map<std::string, std::vector<double>> values;  // metric -> one value per seed
      std::size_t seeds = 0;
      for (const auto& r : row.seeds) {
        const auto* a = r.contains(s.name) ? per_attack(r[s.name]) : nullptr;
        if (!a) continue;
        ++seeds;
        const auto& p = (*a)["policies"]["target-eer"];
        for (const auto& [name, e] : p["apcer"].items()) values["APCER " + name].push_back(e["apcer"].get<double>());
        for (const char* key : {"apcer_pais", "bpcer", "acer"}) values[key].push_back(p[key].get<double>());
        values["bpcer_at_apcer_5"].push_back((*a)["bpcer_at_apcer"]["5%"].get<double>());
      }
      if (seeds == 0) continue;
      md << "| " << row.title << " | " << seeds << " |";
      const auto cell = [&](const std::string& metric) {
        const auto it = values.find(metric);
        const std::string text = it == values.end() || it->second.size() != seeds ? "-" : mean_and_spread(it->second);
        md << " " << text << " |";
        if (text != "-") {
          csv << eval::csv_cell(row.title) << "," << seeds << "," << eval::csv_cell(s.name) << "," << eval::csv_cell(metric) << "," << text << "\n";
          table["rows"][row.title][s.name][metric] = it->second;
        }
      };
      for (const auto& [name, n] : species) cell("APCER " + name);
      for (const char* key : {"apcer_pais", "bpcer", "acer", "bpcer_at_apcer_5"}) cell(key);
      md << "\n";
    }
  }
  if (any) write_table_files(tables_base(out, protocol) + "_attacks", md.str(), csv.str(), table);
}

}  // namespace

std::string tables_base(const std::string& out, int protocol) {
  return (fs::path(out) / ("table_p" + std::to_string(protocol))).string();
}

std::string write_tables(const std::string& out, int protocol) {
  const auto subs = protocol_subs(protocol);
  const auto rows = collect_rows(out, protocol);
  const std::string caption = "Protocol " + std::to_string(protocol) +
                              ": HTER (%) and AUC (%) per sub-protocol; threshold policy target-eer (the threshold at "
                              "each target set's EER point, as in the paper's tables); several seeds: mean +- std over seeds.";
  std::ostringstream md, csv;
  nlohmann::json table = {{"protocol", protocol}, {"policy", "target-eer"}, {"caption", caption}, {"rows", nlohmann::json::object()}};
  std::map<std::string, std::pair<std::size_t, std::size_t>> counts;  // sub -> (live, spoof) of its test set
  // one table of HTER / AUC per row under a threshold policy (a row without it for some seed: "-")
  const auto policy_table = [&](const std::string& policy, const std::string& key) {
    md << "| method | seeds |";
    csv << "policy,method,seeds";
    for (const auto& s : subs) {
      md << " " << s.name << " HTER | " << s.name << " AUC |";
      csv << "," << eval::csv_cell(s.name + " HTER") << "," << eval::csv_cell(s.name + " AUC");
    }
    md << " avg HTER | avg AUC |\n|---|---|";
    csv << ",avg HTER,avg AUC\n";
    for (std::size_t i = 0; i < subs.size() + 1; ++i) md << "---|---|";
    md << "\n";
    for (const auto& row : rows) {
      md << "| " << row.title << " | " << row.seeds.size() << " |";
      csv << policy << "," << eval::csv_cell(row.title) << "," << row.seeds.size();
      std::vector<double> hter_avg(row.seeds.size(), 0), auc_avg(row.seeds.size(), 0);
      bool complete = true;
      for (const auto& s : subs) {
        std::vector<double> hters, aucs;
        for (std::size_t k = 0; k < row.seeds.size(); ++k) {
          if (!row.seeds[k].contains(s.name)) continue;
          const auto& r = row.seeds[k][s.name];
          if (!r.contains("policies") || !r["policies"].contains(policy)) continue;
          hters.push_back(r["policies"][policy]["hter"].get<double>());
          aucs.push_back(r["auc"].get<double>());
          hter_avg[k] += hters.back() / static_cast<double>(subs.size());
          auc_avg[k] += aucs.back() / static_cast<double>(subs.size());
          if (r.contains("live")) counts[s.name] = {r["live"].get<std::size_t>(), r["spoof"].get<std::size_t>()};
        }
        if (hters.size() != row.seeds.size()) {  // missing for some seed
          complete = false;
          md << " - | - |";
          csv << ",,";
          continue;
        }
        md << " " << mean_and_spread(hters) << " | " << mean_and_spread(aucs) << " |";
        csv << "," << mean_and_spread(hters) << "," << mean_and_spread(aucs);
        table[key][row.title][s.name] = {{"hter", hters}, {"auc", aucs}};
      }
      md << " " << (complete ? mean_and_spread(hter_avg) : "-") << " | " << (complete ? mean_and_spread(auc_avg) : "-") << " |\n";
      csv << "," << (complete ? mean_and_spread(hter_avg) : "") << "," << (complete ? mean_and_spread(auc_avg) : "") << "\n";
    }
  };
  md << caption << "\n\n";
  policy_table("target-eer", "rows");
  md << "\nThe same runs at the threshold a deployed model would use (policy source-val: the EER threshold of the "
        "sources' validation scores, applied to the target):\n\n";
  policy_table("source-val", "rows_source_val");
  // test-set sizes
  if (!counts.empty()) {
    md << "\nTest sets:";
    for (const auto& s : subs)
      if (counts.count(s.name))
        md << " " << s.name << " " << counts[s.name].first + counts[s.name].second << " (" << counts[s.name].first
           << " live, " << counts[s.name].second << " spoof);";
    md << "\n";
  }
  // paired bootstrap CIs of each multi-seed method's HTER difference to MMDG's, over the test samples
  const MethodRow* paper = nullptr;
  for (const auto& row : rows)
    if (row.seeds.size() > 1 && row.folder == train::kPaperMethod) paper = &row;
  if (paper) {
    md << "\nHTER difference to MMDG (" << paper->seeds.size()
       << " seeds; percentage points; negative = lower HTER than MMDG): observed [95 % CI], paired stratified bootstrap "
          "over the test videos (all frames of a drawn video; 2000 resamples, the same draw for both methods and every "
          "seed). An interval that contains 0 is a difference inside the noise. avg: the difference of the average HTER "
          "over the sub-protocols (each resampled on its own), when every one has scores for the same seeds.\n\n| method |";
    for (const auto& s : subs) md << " " << s.name << " |";
    md << " avg |\n|---|";
    for (std::size_t i = 0; i < subs.size() + 1; ++i) md << "---|";
    md << "\n";
    for (const auto& row : rows) {
      if (&row == paper || row.seeds.size() < 2) continue;
      md << "| " << row.title << " |";
      std::vector<std::vector<Scores>> all_a, all_b;  // per sub-protocol, for the average
      for (const auto& s : subs) {
        std::vector<Scores> a, b;  // paired by seed: the seeds both methods ran
        for (const auto& r : row.seeds) {
          if (!r.contains(s.name) || !r[s.name].contains("scores")) continue;
          for (const auto& q : paper->seeds)
            if (q["method"].value("seed", -1) == r["method"].value("seed", -2) && q.contains(s.name) &&
                q[s.name].contains("scores")) {
              a.push_back(eval::read_scores_csv(stored_scores_path(out, r[s.name])));
              b.push_back(eval::read_scores_csv(stored_scores_path(out, q[s.name])));
            }
        }
        if (a.empty()) {
          md << " - |";
          continue;
        }
        const auto ci = eval::paired_hter_difference(a, b);
        md << " " << percent_text(ci.difference) << " [" << percent_text(ci.low) << ", " << percent_text(ci.high) << "] |";
        all_a.push_back(a);
        all_b.push_back(b);
        table["rows"][row.title][s.name]["hter_difference_to_mmdg"] = {
            {"observed", ci.difference}, {"low", ci.low},         {"high", ci.high},
            {"seeds", a.size()},         {"level", ci.level},     {"units", ci.units},
            {"live_units", ci.live_units}, {"spoof_units", ci.spoof_units}};
      }
      const bool same_seeds = all_a.size() == subs.size() &&
                              std::all_of(all_a.begin(), all_a.end(), [&](const auto& x) { return x.size() == all_a[0].size(); });
      if (same_seeds && subs.size() > 1) {
        const auto ci = eval::paired_hter_difference_over_sets(all_a, all_b);
        md << " " << percent_text(ci.difference) << " [" << percent_text(ci.low) << ", " << percent_text(ci.high) << "] |";
        table["rows"][row.title]["average_hter_difference_to_mmdg"] = {
            {"observed", ci.difference}, {"low", ci.low}, {"high", ci.high}, {"seeds", all_a[0].size()}, {"units", ci.units}};
      } else {
        md << " - |";
      }
      md << "\n";
    }
  }
#ifdef MMDG_HAVE_OPENCV
  // one ROC figure per sub-protocol, one curve per method (its first seed's scores)
  for (const auto& s : subs) {
    std::vector<std::pair<std::string, Scores>> curves;
    for (const auto& row : rows)
      if (row.seeds[0].contains(s.name) && row.seeds[0][s.name].contains("scores"))
        curves.emplace_back(row.title, eval::read_scores_csv(stored_scores_path(out, row.seeds[0][s.name])));
    if (curves.empty()) continue;
    viz::write_figure((fs::path(out) / ("roc_p" + std::to_string(protocol) + "_" + sub_file_name(s.name) + ".png")).string(),
                   viz::roc_figure("Protocol " + std::to_string(protocol) + ": " + s.name, curves));
  }
#endif
  write_attack_tables(out, protocol, subs, rows);
  return write_table_files(tables_base(out, protocol), md.str(), csv.str(), table);
}

}  // namespace mmdg::experiment
