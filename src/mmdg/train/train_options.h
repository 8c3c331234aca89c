// Every training option, declared once (name, default, help). Defaults: the paper's Sec. 4.1
// (Adam, lr 5e-5, weight decay 1e-3, 70 epochs, batch 32) and the released code's lambda 0.3 and
// SSP-loss momentum 0.5. The SSP / ReGrad options are read by the regrad strategy; the comparison
// strategies' options are declared in baseline_options.h.
#pragma once
#include <cstdint>
#include <string>

#include "mmdg/data/augment.h"
#include "mmdg/data/image.h"
#include "mmdg/model/precision.h"
#include "mmdg/train/baseline_options.h"
#include "mmdg/train/regrad.h"
#include "mmdg/train/ssp_loss.h"

namespace mmdg::train {

struct TrainOptions {
  std::string strategy = "regrad";
  std::int64_t epochs = 70;
  std::int64_t batch_size = 32;
  double lr = 5e-5;
  double weight_decay = 1e-3;
  double grad_clip = 0.0;
  double ssp_weight = 0.3;
  ReGradVariant regrad = ReGradVariant::Full;
  bool regrad_uncertainty = true;
  ReGradScope regrad_scope = ReGradScope::All;
  double loss_momentum = 0.5;
  PrototypeUpdate prototype_update = PrototypeUpdate::Epoch;
  double prototype_momentum = 0.9;
  bool balanced = true;
  std::int64_t seed = 0;
  std::int64_t workers = 2;
  bool cache = false;
  data::Normalization normalization = data::Normalization::ImageNet;
  std::string device = "cpu";
  model::Precision precision = model::Precision::Float32;
  bool deterministic = false;
  bool tf32 = true;
  std::int64_t steps_per_epoch = 0;
  std::int64_t patience = 0;
  std::int64_t log_every = 10;
  std::int64_t eval_batch_size = 32;
  std::int64_t interrupt_after_steps = 0;
  double dist_timeout = 60;
  double dist_bucket_mb = 25;
  data::AugmentOptions augment;
  SSDGOptions ssdg;
  SSANOptions ssan;
  IADGOptions iadg;
  PMROptions pmr;
  OGMGEOptions ogm_ge;
  CMFLOptions cmfl;
  ViTAFOptions vitaf;
  AMAOptions ama;
  CDCNOptions cdcn;
  VPFASOptions vpfas;

  template <class V>
  void visit(V&& v) {
    v("strategy", strategy, "training strategy: ce | regrad | ssdg | ssan | iadg | pmr | ogm-ge | cmfl | vitaf | ama | cdcn | vpfas (mmdg model list)");
    v("epochs", epochs, "training epochs");
    v("batch_size", batch_size, "samples per step (with several processes: in all, split evenly between them)");
    v("lr", lr, "Adam learning rate");
    v("weight_decay", weight_decay, "Adam weight decay");
    v("grad_clip", grad_clip, "clip the global gradient norm to this value (0 = off)");
    v("ssp_weight", ssp_weight, "lambda: weight of each modality's SSP loss");
    v("regrad", regrad, "gradient modulation of the regrad strategy (Table 4)");
    v("regrad_uncertainty", regrad_uncertainty, "scale ReGrad's kept parts by the modality reliability (Table 5)");
    v("regrad_scope", regrad_scope,
      "tensors ReGrad modulates: all (the paper), or as-released (the released regrad.py's stalled index: the tensors "
      "before the first one no SSP loss reaches, i.e. the class tokens and position embeddings; the later ones get the "
      "cross-entropy gradient only)");
    v("loss_momentum", loss_momentum, "momentum of the running SSP loss that picks the fast modality");
    v("prototype_update", prototype_update, "SSP prototypes: recomputed from the training set each epoch, or ema per batch");
    v("prototype_momentum", prototype_momentum, "momentum of the ema prototype update");
    v("balanced", balanced, "batches drawn equally from each (source domain x live/spoof) group");
    v("seed", seed, "random seed (data order, augmentation, initialization, dropout)");
    v("workers", workers, "background data-loading threads");
    v("cache", cache, "keep decoded, resized images in memory");
    v("normalization", normalization, "input normalization");
    v("device", device, "cpu, cuda or cuda:N");
    v("precision", precision, "forward arithmetic: fp32, or bf16 (autocast; weights, optimizer and losses in float32)");
    v("deterministic", deterministic,
      "CUDA: deterministic algorithms, cuDNN and cuBLAS settings, so that a resumed GPU run repeats an "
      "uninterrupted one bit for bit (slower; an operation without a deterministic version stops the run)");
    v("tf32", tf32, "CUDA: float32 matrix products and convolutions on TF32 tensor cores (Ampere and newer)");
    v("steps_per_epoch", steps_per_epoch, "cap on steps per epoch (0 = a full pass)");
    v("patience", patience,
      "stop when the sources' validation loss (cross-entropy of the scores) has not improved for this many epochs; "
      "--epochs bounds the run (0 = train all --epochs)");
    v("log_every", log_every, "steps between step lines in the log");
    v("eval_batch_size", eval_batch_size, "samples per forward when evaluating");
    v("interrupt_after_steps", interrupt_after_steps,
      "testing aid: behave as if interrupted (SIGINT) after this many steps of this run (0 = off)");
    v("dist_timeout", dist_timeout,
      "several processes (mmdg launch, torchrun): seconds a process waits for the others to join or to answer "
      "before it stops with an error naming the operation");
    v("dist_bucket_mb", dist_bucket_mb,
      "several processes: MiB of gradients per all-reduce bucket; a full bucket is summed while the backward pass "
      "goes on (the first bucket holds at most 1 MiB); 0 = one all-reduce after the backward pass");
    augment.visit(v);
    ssdg.visit(v);
    ssan.visit(v);
    iadg.visit(v);
    pmr.visit(v);
    ogm_ge.visit(v);
    cmfl.visit(v);
    vitaf.visit(v);
    ama.visit(v);
    cdcn.visit(v);
    vpfas.visit(v);
  }
  void validate() const;
};

}  // namespace mmdg::train
