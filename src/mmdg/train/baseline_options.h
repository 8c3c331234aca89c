// The options of the comparison strategies (the paper's Tables 1 and 4, Fig. 5), declared once
// (name, default, help) and visited by TrainOptions. Defaults are each method's paper / reference
// code values; the optimizer, schedule and batch are the trainer's (the paper's Sec. 4.1 setting
// for every method, as its Sec. 4.2 re-implements them in one framework). Sources:
//   SSDG   taylover-pei/SSDG-CVPR2020 (experiment configs, models/DGFAS.py, loss/hard_triplet_loss.py)
//   SSAN   wangzhuo2019/SSAN (configs/__init__.py, solver.py, loss/__init__.py)
//   IADG   qianyuzqy/IADG (configs/*.yaml, losses/aiaw_loss.py, models/framework.py)
//   PMR    fanyunfeng-bit/Modal-Imbalance-PMR
//   OGM-GE GeWu-Lab/OGM-GE_CVPR2022 (main.py)
//   CMFL   Idiap bob.paper.cross_modal_focal_loss_cvpr2021 (losses.py, CNN_Trainer_template.py)
//   ViTAF  hhsinping/few_shot_fas (config.py, train.py, vision_transformer.py)
//   AMA    ZitongYu/Flex-Modal-FAS (its data loader's modality dropping)
//   CDCN   ZitongYu/CDCN (FAS_challenge_CVPRW2020: Contrast_depth_loss, the MSE + contrastive loss)
//   VP-FAS arXiv 2307.13958's abstract only (no code public): our reading, see vpfas_strategy.h
#pragma once
#include <cstdint>
#include <utility>

#include "mmdg/util/enum_names.h"

namespace mmdg::train {

struct SSDGOptions {
  double triplet_weight = 1.0;      // lambda_triplet (3 of the 4 reference configs; I_C_M->O uses 2)
  double adversarial_weight = 0.5;  // lambda_adreal (3 of the 4 reference configs; I_C_M->O uses 0.1)
  double triplet_margin = 0.1;      // HardTripletLoss(margin=0.1, hardest=False)

  template <class V>
  void visit(V&& v) {
    v("ssdg_triplet_weight", triplet_weight, "ssdg: weight of the asymmetric triplet loss");
    v("ssdg_adversarial_weight", adversarial_weight, "ssdg: weight of the single-side (live-only) adversarial loss");
    v("ssdg_triplet_margin", triplet_margin, "ssdg: triplet margin (batch-all, Euclidean)");
  }
};

struct SSANOptions {
  double contrast_weight = 1.0;     // solver.py: L_cls + L_con + L_adv, all weights 1
  double adversarial_weight = 1.0;
  std::int64_t block = -1;          // assembly after this block (0-based); -1: the second to last

  template <class V>
  void visit(V&& v) {
    v("ssan_contrast_weight", contrast_weight, "ssan: weight of the contrastive loss on shuffled style assemblies");
    v("ssan_adversarial_weight", adversarial_weight, "ssan: weight of the adversarial domain loss on content");
    v("ssan_block", block, "ssan: assemble styles after this block (0-based; -1 = the second to last block)");
  }
};

// Which features IADG's whitening covariance is computed on.
enum class IADGCovariance {
  Raw,           // X^T X / (N - 1) + eps I on the tokens as they are (the reference's get_covariance_matrix)
  Standardized,  // each channel centred and scaled to unit variance first: a correlation matrix
};

struct IADGOptions {
  IADGCovariance covariance = IADGCovariance::Raw;
  double whitening_weight = 1.0;    // AIAW weight on each branch (configs: 1.0)
  double live_selection = 0.003;    // fraction of the C x C covariance entries whitened for live faces
  double spoof_selection = 0.0006;  // ... for spoof faces (the asymmetric 1 : 0.2)
  std::int64_t style_bank = 64;     // base styles per class (64 for two of the four reference configs)
  std::int64_t block = -1;          // categorical style assembly after this block; -1: the second to last
  std::int64_t warmup_epochs = 1;   // epochs of plain CE before CSA and AIAW (the reference code's first epoch)

  template <class V>
  void visit(V&& v) {
    v("iadg_covariance", covariance,
      "iadg: raw (the reference: X^T X / (N - 1) + eps I on the tokens) or standardized (a correlation matrix)");
    v("iadg_whitening_weight", whitening_weight, "iadg: weight of the asymmetric instance adaptive whitening loss");
    v("iadg_live_selection", live_selection, "iadg: fraction of covariance entries whitened for live faces");
    v("iadg_spoof_selection", spoof_selection, "iadg: fraction of covariance entries whitened for spoof faces");
    v("iadg_style_bank", style_bank, "iadg: base styles kept per class for categorical style assembly");
    v("iadg_block", block, "iadg: assemble styles after this block (0-based; -1 = the second to last block)");
    v("iadg_warmup_epochs", warmup_epochs, "iadg: epochs of plain CE before style assembly and whitening");
  }
};

struct PMROptions {
  double pce_weight = 2.0;         // alpha (paper Sec. 5.2: 1 or 2; code default 1, most of the authors' runs 2)
  double entropy_weight = 0.01;    // mu (paper Sec. 5.2: 1e-2 or 1e-3)
  double entropy_until = 0.15;     // PER only in the first "few epochs" (E_r; the paper gives no number)
  double until = 0.7;              // PCE modulation window (reference scripts: epochs 0-70 of ~100)
  double subset = 0.1;             // prototypes from this fraction of the training batches (paper: one tenth)
  // epsilon in c <- eps c_old + (1 - eps) c_new: the code's default is 0.2, but 31 of the 33 runs in
  // the authors' bash.sh pass --momentum_coef 0.0 (prototypes recomputed each epoch), as here
  double prototype_momentum = 0.0;

  template <class V>
  void visit(V&& v) {
    v("pmr_pce_weight", pce_weight, "pmr: alpha, weight of the slow modalities' prototypical cross-entropy");
    v("pmr_entropy_weight", entropy_weight, "pmr: mu, weight of the fast modalities' prototype entropy regularization");
    v("pmr_entropy_until", entropy_until, "pmr: entropy regularization during this first fraction of the epochs");
    v("pmr_until", until, "pmr: rebalancing during this first fraction of the epochs");
    v("pmr_subset", subset, "pmr: fraction of the training batches the prototypes are computed from, each epoch");
    v("pmr_prototype_momentum", prototype_momentum, "pmr: momentum of the prototypes across epochs");
  }
};

// OGM-GE's coefficient on a dominant modality (discrepancy ratio rho > 1).
enum class OGMCoefficient {
  Paper,    // 1 - tanh(alpha * rho) (the paper's Eq. 10, the reference code since 2022-05-29)
  Shifted,  // 1 - tanh(alpha * relu(rho - 1)) (the reference code before; continuous at rho = 1)
};

struct OGMGEOptions {
  double alpha = 0.1;              // the reference README's default setting
  double until = 0.5;              // modulation window: epochs 0-50 of 100 in the reference defaults
  bool noise = true;               // GE: Gaussian noise with the gradient's own spread (false: plain OGM)
  OGMCoefficient coefficient = OGMCoefficient::Paper;

  template <class V>
  void visit(V&& v) {
    v("ogm_ge_alpha", alpha, "ogm-ge: alpha in the coefficient 1 - tanh(alpha * ...)");
    v("ogm_ge_until", until, "ogm-ge: modulation during this first fraction of the epochs");
    v("ogm_ge_noise", noise, "ogm-ge: add the generalization enhancement noise N(0, std(grad)) (false: OGM only)");
    v("ogm_ge_coefficient", coefficient, "ogm-ge: paper (1 - tanh(alpha rho)) or shifted (1 - tanh(alpha relu(rho - 1)))");
  }
};

struct CMFLOptions {
  double weight = 0.5;   // lambda ("beta"): L = (1 - lambda) CE(joint) + lambda L_CMFL
  double gamma = 3.0;    // focal exponent of the reference trainer template
  bool detach_other = false;  // stop the gradient through the other modalities' probabilities (code's sg)

  template <class V>
  void visit(V&& v) {
    v("cmfl_weight", weight, "cmfl: lambda in (1 - lambda) CE(joint head) + lambda * cross-modal focal loss");
    v("cmfl_gamma", gamma, "cmfl: focal exponent gamma");
    v("cmfl_detach_other", detach_other, "cmfl: no gradient through the other modalities' probabilities");
  }
};

struct ViTAFOptions {
  // the diversity term's weight; the code's configs use 1 (CeFA), 0.1 (SURF), 0.01 (WMCA), 0.03 / 1
  // (the RGB benchmarks), per target; 0.1 here for every target
  double cosine_weight = 0.1;

  template <class V>
  void visit(V&& v) {
    v("vitaf_cosine_weight", cosine_weight, "vitaf: weight of the ensemble adapters' squared cosine similarity");
  }
};

struct AMAOptions {
  double modality_drop = 0.5;  // the Flex-Modal-FAS loader's probability of blanking depth, and IR

  template <class V>
  void visit(V&& v) {
    v("ama_modality_drop", modality_drop, "ama: probability of zeroing a training sample's depth image, and its IR image");
  }
};

struct CDCNOptions {
  double contrast_weight = 1.0;  // the authors' training: loss = MSE + contrastive depth loss, weight 1

  template <class V>
  void visit(V&& v) {
    v("cdcn_contrast_weight", contrast_weight, "cdcn: weight of the contrastive depth loss beside the map's MSE");
  }
};

struct VPFASOptions {
  double consistency_weight = 1.0;  // missing-modality regularization (our choice: the abstract gives no weight)

  template <class V>
  void visit(V&& v) {
    v("vpfas_consistency_weight", consistency_weight,
      "vpfas: weight of the missing-modality regularization (1 - cosine between the full and the missing view's class tokens)");
  }
};

}  // namespace mmdg::train

namespace mmdg {
template <>
struct EnumNames<train::IADGCovariance> {
  static constexpr std::pair<train::IADGCovariance, const char*> values[] = {
      {train::IADGCovariance::Raw, "raw"}, {train::IADGCovariance::Standardized, "standardized"}};
};

template <>
struct EnumNames<train::OGMCoefficient> {
  static constexpr std::pair<train::OGMCoefficient, const char*> values[] = {{train::OGMCoefficient::Paper, "paper"},
                                                                            {train::OGMCoefficient::Shifted, "shifted"}};
};
}  // namespace mmdg
