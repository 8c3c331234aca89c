// The paper's benchmark protocols over the four datasets (C = CASIA-CeFA, P = PADISI-Face,
// S = CASIA-SURF, W = WMCA), run sub-protocol by sub-protocol with resumable training:
//   Protocol 1: leave one dataset out: CPS->W, CPW->S, CSW->P, PSW->C (train on the sources'
//               train lists, select on the sources' val lists, test on the target's test list)
//   Protocol 2: Protocol 1's models tested with depth, IR, or both missing
//   Protocol 3: CW->PS and PS->CW
// A method is a network + a training strategy (mmdg/train/strategy.h), named by method_name.
// Output: <out>/<method>/<model>/ run directories (train/run_dir.h), <out>/<method>/results_p<N>.json
// (with --seeds: <out>/<method>/seed<k>/...), and tables
// merging every method found under <out>: table_p<N>.md / .csv / .json (HTER and AUC per
// sub-protocol and their average; threshold policy stated in the caption), and one ROC figure per
// sub-protocol with a curve per method, roc_p<N>_<sub>.png (builds with OpenCV).
#pragma once
#include <array>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "mmdg/model/network_options.h"
#include "mmdg/train/train_options.h"

namespace mmdg::experiment {

struct SubProtocol {
  std::string name;          // e.g. "CPS->W", "CPS->W (D missing)"
  std::string model;         // run directory name of the trained model, e.g. "CPS-W"
  std::string sources, targets;
  std::array<bool, 3> missing{false, false, false};
};

std::vector<SubProtocol> protocol_subs(int protocol);

struct ProtocolArgs {
  int protocol = 1;
  std::string sub;           // "" = all; else a name or model name of one sub-protocol
  std::string lists_dir, data_root, pretrained, out;
  std::string method_name;   // sub-folder of `out`, e.g. "mmdg", "vit-uadapter+ssdg"; the tables'
                             // rows are titled as the paper's (train::method_title: "ViT + U-Adapter / SSDG")
  std::string method_title;  // the tables' row title; "" = train::method_title of the network and strategy
  model::NetworkOptions model;
  train::TrainOptions train;
  // Several seeds: one run per seed (train.seed = k) in <out>/<method>/seed<k>/; the tables show
  // mean +- std over seeds and, against MMDG's seeds, paired bootstrap CIs of the HTER difference.
  // Empty: one run with train.seed in <out>/<method>/.
  std::vector<std::int64_t> seeds;
};

// A sub-protocol's name as a file-name part: "CPS->W (D missing)" -> "CPS__W__D_missing_".
std::string sub_file_name(const std::string& sub);

// Where run_protocol writes a method's per-sample scores of one sub-protocol.
std::string scores_csv_path(const std::string& out, const std::string& method, int protocol, const std::string& sub);

// Runs (or resumes) the protocol (every seed); returns the results JSON (per seed with seeds).
nlohmann::json run_protocol(const ProtocolArgs& args);

// The k of a per-seed run folder's name "seed<k>" (what --seeds writes), or nothing for other names.
std::optional<std::int64_t> seed_of_folder(const std::string& name);

// One method's results under <out>/<folder>: a single run (results_p<N>.json) or several seeds
// (seed<k>/results_p<N>.json, ordered by seed). Empty when it has none yet.
struct MethodResults {
  std::string folder, title;          // title: the results' (with seeds: "... (3 seeds)")
  std::vector<nlohmann::json> seeds;  // one results JSON per seed
};
std::vector<MethodResults> read_method_results(const std::string& out, const std::string& folder, int protocol);

// "12.22" for one value, "12.22 +- 1.57" (mean +- sample std, in %) for several.
std::string mean_and_spread(const std::vector<double>& fractions);

// The scores CSV a results entry names: stored relative to `out` (so a protocol folder can be
// moved or used from another directory); paths of earlier versions (absolute or relative to the
// directory the command ran in) are used as they are when they exist.
std::string stored_scores_path(const std::string& out, const nlohmann::json& sub_result);

// A sub-protocol result's HTER under the tables' policy (target-eer).
double target_eer_hter_of(const nlohmann::json& sub_result);

// Writes a table as <base>.md, <base>.csv and <base>.json, each atomically; returns the Markdown.
std::string write_table_files(const std::string& base, const std::string& md, const std::string& csv, const nlohmann::json& json);

// Merges <out>/*/results_p<N>.json (single runs) and <out>/*/seed*/results_p<N>.json (seeds) into
// tables (Markdown, CSV, JSON: mean +- std over seeds, test-set counts, and each multi-seed
// method's paired bootstrap CI of its HTER difference to MMDG's seeds) and returns the Markdown.
std::string write_tables(const std::string& out, int protocol);
// <out>/table_p<N>: where write_tables puts the tables (add .md, .csv or .json).
std::string tables_base(const std::string& out, int protocol);

}  // namespace mmdg::experiment
