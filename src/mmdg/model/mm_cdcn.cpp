#include "mmdg/model/mm_cdcn.h"

#include <torch/torch.h>

#include "mmdg/model/cdc.h"
#include "mmdg/util/log.h"

namespace mmdg::model {
namespace {

// CDC in -> out, then BN and ReLU (the authors' conv / BN / ReLU triple) appended to `seq`.
void add_cdc_bn_relu(torch::nn::Sequential& seq, std::int64_t in, std::int64_t out, double theta) {
  seq->push_back(Conv2dCD(in, out, theta));
  seq->push_back(torch::nn::BatchNorm2d(out));
  seq->push_back(torch::nn::ReLU());
}

torch::nn::Sequential cdc_bn_relu(std::int64_t in, std::int64_t out, double theta) {
  torch::nn::Sequential seq;
  add_cdc_bn_relu(seq, in, out, theta);
  return seq;
}

// in -> 2c -> w -> 2c, then max-pool 3 / 2 / 1: one of the authors' Block{j}.
torch::nn::Sequential cdcn_block(std::int64_t in, std::int64_t c, double theta) {
  const auto w = std::max<std::int64_t>(1, 196 * c / 64);
  torch::nn::Sequential seq;
  add_cdc_bn_relu(seq, in, 2 * c, theta);
  add_cdc_bn_relu(seq, 2 * c, w, theta);
  add_cdc_bn_relu(seq, w, 2 * c, theta);
  seq->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(2).padding(1)));
  return seq;
}

}  // namespace

MultiModalCDCNImpl::MultiModalCDCNImpl(const NetworkOptions& o) : NetworkImpl(o) {
  const auto c = o.cdcn_width;
  const double theta = o.cdcn_theta;
  for (int k = 0; k < kNumModalities; ++k) {  // the authors' registration order: each branch's stem and blocks
    const std::string m = "_M" + std::to_string(k + 1);
    conv1[k] = register_module("conv1" + m, cdc_bn_relu(3, c, theta));
    block1[k] = register_module("Block1" + m, cdcn_block(c, c, theta));
    block2[k] = register_module("Block2" + m, cdcn_block(2 * c, c, theta));
    block3[k] = register_module("Block3" + m, cdcn_block(2 * c, c, theta));
  }
  for (int k = 0; k < kNumModalities; ++k)
    lastconv1[k] = register_module("lastconv1_M" + std::to_string(k + 1), cdc_bn_relu(6 * c, 2 * c, theta));
  lastconv2 = register_module("lastconv2", cdc_bn_relu(6 * c, 2 * c, theta));
  lastconv3 = register_module("lastconv3", torch::nn::Sequential(Conv2dCD(2 * c, 1, theta), torch::nn::ReLU()));
}

torch::Tensor MultiModalCDCNImpl::branch(int k, const torch::Tensor& image) {
  namespace F = torch::nn::functional;
  const auto M = map_size();
  const auto resize = [M](const torch::Tensor& x) {  // (B, 2c, H, H) -> (B, 2c, M, M)
    if (x.size(2) == M && x.size(3) == M) return x;
    return F::interpolate(x, F::InterpolateFuncOptions().size(std::vector<std::int64_t>{M, M})
                                 .mode(torch::kBilinear).align_corners(false));
  };
  const auto x = conv1[k]->forward(image);  // (B, c, S, S)
  const auto b1 = block1[k]->forward(x);    // (B, 2c, S/2, S/2)
  const auto b2 = block2[k]->forward(b1);   // (B, 2c, S/4, S/4)
  const auto b3 = block3[k]->forward(b2);   // (B, 2c, S/8, S/8)
  return lastconv1[k]->forward(torch::cat({resize(b1), resize(b2), resize(b3)}, 1));  // (B, 2c, M, M)
}

NetworkOutput MultiModalCDCNImpl::forward_impl(const torch::Tensor& rgb, const torch::Tensor& depth, const torch::Tensor& ir,
                                               const ForwardOptions& fo) {
  const auto inputs = checked_inputs(rgb, depth, ir, fo);
  std::vector<torch::Tensor> branches;
  for (int k = 0; k < kNumModalities; ++k) branches.push_back(branch(k, inputs[k]));
  const auto fused = lastconv2->forward(torch::cat(branches, 1));  // (B, 2c, M, M)
  NetworkOutput out;
  out.map = lastconv3->forward(fused).squeeze(1);  // (B, M, M)
  out.logits = map_logits(out.map);                // (B, 2)
  out.embedding = fused.mean({2, 3});              // (B, 2c)
  out.features.fill(out.embedding);
  return out;
}

torch::Tensor map_logits(const torch::Tensor& map) {
  const auto p = map.to(torch::kFloat).mean({1, 2}).clamp(1e-6, 1.0 - 1e-6);  // (B)
  return torch::stack({torch::log1p(-p), torch::log(p)}, 1);                  // (B, 2)
}

std::string MultiModalCDCNImpl::group_of(const std::string& name) const {
  if (name.rfind("conv1_", 0) == 0) return "stems";
  if (name.rfind("lastconv3", 0) == 0) return "head";
  return "backbone";
}

LoadReport MultiModalCDCNImpl::load_pretrained_backbone(const io::StateDict&, const std::string& context) {
  log::info("mm-cdcn trains from scratch (its paper): the ViT weights in " + context + " are not used");
  return {};
}

}  // namespace mmdg::model
