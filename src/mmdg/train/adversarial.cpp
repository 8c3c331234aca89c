#include "mmdg/train/adversarial.h"

#include <torch/torch.h>

#include <cmath>

namespace mmdg::train {
namespace {

struct GradientReversal : public torch::autograd::Function<GradientReversal> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, double coefficient) {
    ctx->saved_data["coefficient"] = coefficient;
    return x.view_as(x);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const double coefficient = ctx->saved_data["coefficient"].toDouble();
    return {grad[0] * -coefficient, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor reverse_gradient(const torch::Tensor& x, double coefficient) {
  return GradientReversal::apply(x, coefficient);
}

double reversal_coefficient(double progress) { return 2.0 / (1.0 + std::exp(-10.0 * progress)) - 1.0; }

DomainDiscriminatorOptions ssdg_discriminator(std::int64_t in, std::int64_t domains) {
  return DomainDiscriminatorOptions(in, domains);
}

DomainDiscriminatorOptions ssan_discriminator(std::int64_t in, std::int64_t domains) {
  return DomainDiscriminatorOptions(in, domains).hidden(256).normal_init(false);
}

DomainDiscriminatorImpl::DomainDiscriminatorImpl(DomainDiscriminatorOptions o) : options(std::move(o)) { reset(); }

void DomainDiscriminatorImpl::reset() {
  fc1 = register_module("fc1", torch::nn::Linear(options.in(), options.hidden()));
  dropout = register_module("dropout", torch::nn::Dropout(options.dropout()));
  fc2 = register_module("fc2", torch::nn::Linear(options.hidden(), options.domains()));
  if (!options.normal_init()) return;
  torch::NoGradGuard no_grad;
  fc1->weight.normal_(0.0, options.init_std_hidden());
  fc1->bias.zero_();
  fc2->weight.normal_(0.0, options.init_std_out());
  fc2->bias.zero_();
}

torch::Tensor DomainDiscriminatorImpl::forward(const torch::Tensor& features) {
  return fc2(dropout(torch::relu(fc1(features))));  // (B, N)
}

}  // namespace mmdg::train
