// GoogleTest entry point shared by the test programs: fixed seed, 2 threads (the size of the
// development machines), so results do not depend on the machine's core count.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "mmdg/util/runtime.h"

int main(int argc, char** argv) {
  mmdg::use_passive_openmp_wait(argv);  // as the mmdg program runs (OMP_WAIT_POLICY=PASSIVE)
  ::testing::InitGoogleTest(&argc, argv);
  torch::manual_seed(0);
  torch::set_num_threads(2);
  return RUN_ALL_TESTS();
}
