// GradientReducer against a brute-force reference: two ranks (two threads of this process, each
// with its own Gloo process group over 127.0.0.1) back-propagate their own batches through
// buckets small enough that several sums start during the backward pass; every rank must end
// with the plain mean of the two ranks' gradients (computed here on copies without a group),
// zeros for a tensor no rank reached, and the mean loss.
#include "mmdg/train/gradient_reducer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <exception>
#include <thread>

#include "mmdg/util/process_group.h"

namespace mmdg::train {
namespace {

// A small network whose tensors make several buckets; `unused` is reached only when asked (it
// comes first, so its buckets are the last to start).
struct Net : torch::nn::Module {
  Net() {
    unused = register_module("unused", torch::nn::Linear(4, 2));
    a = register_module("a", torch::nn::Linear(6, 5));
    b = register_module("b", torch::nn::Linear(5, 4));
    c = register_module("c", torch::nn::Linear(4, 2));
  }
  torch::Tensor loss(const torch::Tensor& x, bool reach_unused) {
    auto h = torch::tanh(b(torch::relu(a(x))));
    auto out = c(h);
    if (reach_unused) out = out + unused(h);
    return out.pow(2).mean() + 0.1 * h.sum();
  }
  torch::nn::Linear a{nullptr}, b{nullptr}, c{nullptr}, unused{nullptr};
};

// Copies b's weights from a.
void copy_weights(Net& from, Net& to) {
  torch::NoGradGuard no_grad;
  auto p = from.parameters(), q = to.parameters();
  for (std::size_t i = 0; i < p.size(); ++i) q[i].copy_(p[i]);
}

TEST(GradientReducerTest, EveryRankEndsWithTheMeanGradientOfAllRanks) {
  if (!dist::available()) GTEST_SKIP() << "built without Gloo (libgloo-dev)";
  torch::manual_seed(0);
  Net reference;
  // two steps; in the second only rank 1 reaches `unused`
  const std::vector<std::vector<torch::Tensor>> inputs{{torch::randn({3, 6}), torch::randn({3, 6})},
                                                       {torch::randn({3, 6}), torch::randn({3, 6})}};
  const auto reaches_unused = [](int step, int rank) { return step == 1 && rank == 1; };

  // the reference: each rank's plain gradient and loss, then their mean
  std::vector<std::vector<torch::Tensor>> expected(2);
  std::vector<double> expected_loss(2);
  for (int step = 0; step < 2; ++step) {
    std::vector<torch::Tensor> sum;
    for (const auto& p : reference.parameters()) sum.push_back(torch::zeros_like(p));
    double loss_sum = 0;
    for (int rank = 0; rank < 2; ++rank) {
      reference.zero_grad();
      auto loss = reference.loss(inputs[step][rank], reaches_unused(step, rank));
      loss.backward();
      loss_sum += loss.item<double>();
      const auto params = reference.parameters();
      for (std::size_t i = 0; i < params.size(); ++i)
        if (params[i].grad().defined()) sum[i] += params[i].grad();
    }
    for (auto& s : sum) expected[step].push_back(s / 2);
    expected_loss[step] = loss_sum / 2;
  }

  std::vector<std::unique_ptr<Net>> nets;
  for (int rank = 0; rank < 2; ++rank) {
    nets.push_back(std::make_unique<Net>());
    copy_weights(reference, *nets.back());
  }
  const int port = dist::free_port();
  std::vector<std::exception_ptr> failures(2);
  std::vector<std::vector<std::vector<torch::Tensor>>> got(2);
  std::vector<std::vector<double>> got_loss(2);
  std::vector<std::size_t> buckets(2), early(2);
  std::vector<std::thread> threads;
  for (int rank = 0; rank < 2; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        dist::Environment env;
        env.rank = rank;
        env.world_size = 2;
        env.master_port = port;
        dist::ProcessGroup group(env, std::chrono::seconds(30));
        Net& net = *nets[static_cast<std::size_t>(rank)];
        auto params = net.parameters();
        // 4 bytes: one tensor per bucket
        GradientReducer reducer(params, group, {4.0 / (1024 * 1024), 4.0 / (1024 * 1024)});
        buckets[static_cast<std::size_t>(rank)] = reducer.num_buckets();
        for (int step = 0; step < 2; ++step) {
          // a gradient taken outside backward() (e.g. by a strategy's own autograd::grad) is not summed
          auto probe = torch::autograd::grad({net.loss(inputs[step][rank], true)}, {params[0]});
          GradientReducer::Scope scope(reducer);
          auto loss = net.loss(inputs[step][rank], reaches_unused(step, rank));
          const double mean = reducer.backward(loss, loss.item<double>(), params);
          EXPECT_TRUE(scope.reduced());
          EXPECT_DOUBLE_EQ(scope.loss(), mean);
          got_loss[static_cast<std::size_t>(rank)].push_back(mean);
          std::vector<torch::Tensor> grads;
          for (const auto& p : params) grads.push_back(p.grad().clone());
          got[static_cast<std::size_t>(rank)].push_back(grads);
          early[static_cast<std::size_t>(rank)] = reducer.started_during_backward();
        }
      } catch (...) {
        failures[static_cast<std::size_t>(rank)] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& f : failures)
    if (f) std::rethrow_exception(f);

  const auto names = reference.named_parameters().keys();
  for (int rank = 0; rank < 2; ++rank) {
    SCOPED_TRACE("rank " + std::to_string(rank));
    const auto r = static_cast<std::size_t>(rank);
    EXPECT_EQ(buckets[r], 8u);  // one per tensor
    EXPECT_GE(early[r], 1u);    // the last layers' sums started while the backward pass went on
    for (std::size_t step = 0; step < 2; ++step) {
      EXPECT_NEAR(got_loss[r][step], expected_loss[step], 1e-6);
      for (std::size_t i = 0; i < names.size(); ++i)
        EXPECT_TRUE(torch::allclose(got[r][step][i], expected[step][i], 1e-6, 1e-7))
            << "step " << step << " " << names[i] << "\n" << got[r][step][i] << "\n" << expected[step][i];
    }
    // `unused` got no gradient anywhere in step 0: zeros (Adam still decays it, as in one process)
    EXPECT_EQ(got[r][0][0].abs().sum().item<double>(), 0.0);
    EXPECT_EQ(got[r][0][1].abs().sum().item<double>(), 0.0);
  }
}

TEST(GradientReducerTest, RefusesATensorItWasNotBuiltWith) {
  if (!dist::available()) GTEST_SKIP() << "built without Gloo (libgloo-dev)";
  dist::Environment env;  // a group of one: the sums are the tensors themselves
  env.master_port = dist::free_port();
  dist::ProcessGroup group(env, std::chrono::seconds(10));
  Net net;
  auto params = net.parameters();
  GradientReducer reducer({params[2], params[3]}, group, {});  // a's weight and bias
  EXPECT_EQ(reducer.num_buckets(), 1u);
  auto loss = net.loss(torch::ones({1, 6}), false);
  EXPECT_THROW(reducer.backward(loss, loss.item<double>(), params), std::logic_error);
  // with its own tensors, one rank: the gradient a plain backward gives, and the loss
  auto expected = torch::autograd::grad({net.loss(torch::ones({1, 6}), false)}, {params[2]})[0];
  EXPECT_DOUBLE_EQ(reducer.backward(net.loss(torch::ones({1, 6}), false), 0.5, {params[2], params[3]}), 0.5);
  EXPECT_TRUE(torch::allclose(params[2].grad(), expected));
}

}  // namespace
}  // namespace mmdg::train
