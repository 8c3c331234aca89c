// `mmdg ablate`: the paper's ablations over Protocol 1 in one command. A table is a list of rows,
// each a method (network + strategy) with the options the table varies; every row is a protocol
// run (experiment/protocol.h) in its own folder under one output folder, so rows shared by
// several tables (MMDG is in Tables 4 and 5 and Fig. 5) are trained once, and an interrupted table
// resumes where it stopped. Tables:
//   4         ReGrad against DG and modality-balancing strategies (Table 4)
//   5         uncertainty in the U-Adapters (Eq. 4) x in ReGrad (Eq. 5) (Table 5)
//   fig5      ViT vs ViT + U-Adapter under SSDG, SSAN, IADG, CMFL, none, ReGrad (Fig. 5)
//   pretrain  MMDG from the pretrained backbone vs from a random initialization (not in the paper:
//             says whether the embedded default's proxy pretraining matters)
// Output: <out>/ablation_<table>.md / .csv / .json in the paper's layout (average HTER and AUC
// over the sub-protocols run; with seeds mean +- std, and each row's paired bootstrap CI of its
// average HTER difference to MMDG, seeds and sub-protocols pooled), the paper's numbers beside
// ours, and for fig5 a grouped bar chart ablation_fig5.png.
#pragma once
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "mmdg/experiment/protocol.h"

namespace mmdg::experiment {

struct AblationRow {
  std::string folder;              // run folder under the output folder (shared between tables)
  std::string title;               // row title in the merged protocol tables (unique)
  std::vector<std::string> cells;  // the table's label columns, e.g. {"ViT + U-Adapter", "SSDG"}
  std::string method;              // a method preset or network+strategy (train::resolve_method)
  std::function<void(ProtocolArgs&)> adjust;  // the row's options beyond the method; may be empty
  double paper_hter = std::numeric_limits<double>::quiet_NaN();  // the paper's average, %
  double paper_auc = std::numeric_limits<double>::quiet_NaN();
};

struct AblationTable {
  std::string name, caption;
  std::vector<std::string> columns;  // headers of the label columns
  std::vector<AblationRow> rows;     // in the paper's order
};

std::vector<std::string> ablation_table_names();  // 4, 5, fig5, pretrain
const AblationTable& ablation_table(const std::string& name);  // mmdg::Error naming the choices

// The protocol arguments of one row: `base` (data, output, model size and training options) with
// the row's method and options. The options the tables vary (regrad, regrad_uncertainty,
// adapter_uncertainty, the pretrained weights) take the paper's values unless the row sets them.
ProtocolArgs ablation_row_args(const ProtocolArgs& base, const AblationRow& row);

struct AblateArgs {
  ProtocolArgs base;               // protocol is always 1; base.sub may select one sub-protocol
  std::string table;
  std::vector<std::string> rows;   // only these row folders (empty: all)
  bool dry_run = false;            // list the rows and their folders, train nothing
};

// Runs (or resumes) the table's rows, then writes and returns the table (Markdown).
std::string run_ablation(const AblateArgs& args);

// Writes <out>/ablation_<table>.{md,csv,json} (and .png for fig5) from the rows' results found
// under `out` (rows not run yet show "-"), averaging over `subs` (names of Protocol 1's
// sub-protocols). Returns the Markdown.
std::string write_ablation_table(const std::string& out, const AblationTable& table, const std::vector<std::string>& subs);

}  // namespace mmdg::experiment
