// Network `vit-uadapter`, the MMDG network (paper Sec. 3, Fig. 3; the released code's MMDG): the
// three-branch ViT of multi_branch_vit.h plus, in every block, Monte Carlo dropout uncertainty on
// the MHSA output (the UEM) and U-Adapters R<-D, R<-I, D<-R, I<-R at the MLP output (D and I never
// interact directly).
//
// Parameter names are the released code's checkpoint keys (modality 1 = R, 2 = D, 3 = I):
//   conv_proj{1,2,3}.*, class_token{1,2,3}, pos_embedding{1,2,3}, ViT_Encoder.{1..n}.* (the
//   torchvision blocks), ViT_Encoder.{n+1}.* (final LayerNorm), fc_all.0.* (or fc{1,2,3}.0.* with
//   per-modality heads), adapter_{1_2,2_1,1_3,3_1}_2.{0..n-1}.* (adapter_a_b_2 feeds a from b).
// Letters: B batch, L tokens, C width, M = 3 modalities.
#pragma once
#include "mmdg/model/multi_branch_vit.h"
#include "mmdg/model/u_adapter.h"
#include "mmdg/model/uncertainty.h"

namespace mmdg::model {

class UAdapterViTImpl : public MultiBranchViTImpl {
 public:
  explicit UAdapterViTImpl(const NetworkOptions& options);

  void set_estimator(Estimator estimator) override;

  // One block on the stacked streams h (3B, L, C) -> (3B, L, C): MHSA, uncertainty, MLP and the
  // four U-Adapters. `token_reliability` receives (3B, L); `attention` the adapters' maps.
  torch::Tensor block_step(std::size_t i, const torch::Tensor& h, torch::Tensor* token_reliability = nullptr,
                           std::vector<std::pair<std::string, torch::Tensor>>* attention = nullptr) override;

  std::vector<UAdapter> adapter_1_2, adapter_1_3, adapter_2_1, adapter_3_1;

 private:
  UncertaintyOptions uncertainty_;
};

}  // namespace mmdg::model
