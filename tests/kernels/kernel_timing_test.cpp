// The CUDA-free half of kernel_timing.h: how many weight copies a graph
// timing rotates through (their total must exceed 3x the L2, so no launch
// finds its weights cached) and how many launches a graph holds.
#define BOOST_TEST_MODULE kernels_kernel_timing
#include <boost/test/unit_test.hpp>

#include <cstdint>

#include "kpolicy/kernels/kernel_timing.h"

using namespace kpolicy::kernels::gpu;

namespace {

constexpr int64_t kH200L2 = 62914560;  // 60 MiB, cudaDevAttrL2CacheSize on the H200
constexpr int64_t kQ4k4096 = 4096LL * 4096 / 256 * 144;  // 9,437,184 bytes of Q4_K weights

}  // namespace

BOOST_AUTO_TEST_CASE(copies_together_exceed_three_times_the_l2) {
  for (const int64_t bytes : {int64_t{1} << 20, kQ4k4096, int64_t{33030144}, int64_t{48168960}}) {
    const int copies = WeightCopiesToDefeatL2(bytes, kH200L2);
    BOOST_TEST(copies * bytes >= 3 * kH200L2, bytes << " bytes x " << copies);
    BOOST_TEST((copies - 1) * bytes < 3 * kH200L2, "one copy fewer would do for " << bytes);
  }
  // 3 x 60 MiB / 9 MiB = 20 exactly: no extra copy for an exact fit.
  BOOST_TEST(WeightCopiesToDefeatL2(kQ4k4096, kH200L2) == 20);
}

BOOST_AUTO_TEST_CASE(copies_are_at_least_two_and_at_most_512) {
  BOOST_TEST(WeightCopiesToDefeatL2(int64_t{1} << 30, kH200L2) == 2);  // larger than the L2 itself
  BOOST_TEST(WeightCopiesToDefeatL2(1024, kH200L2) == 512);            // a tiny matrix
  BOOST_TEST(WeightCopiesToDefeatL2(1024, 0) == 2);                    // no L2 reported
}

BOOST_AUTO_TEST_CASE(a_graph_launches_every_copy_and_at_least_twenty) {
  BOOST_TEST(GraphLaunchesFor(2) == 20);
  BOOST_TEST(GraphLaunchesFor(20) == 20);
  BOOST_TEST(GraphLaunchesFor(37) == 37);
}

BOOST_AUTO_TEST_CASE(the_methods_name_their_counts) {
  const std::string graph = GraphTimingMethod(25);
  BOOST_TEST(graph.find("median of 25 replays") != std::string::npos, graph);
  BOOST_TEST(graph.find("3 warm-up replays") != std::string::npos, graph);
  const std::string flushed = FlushedTimingMethod(21);
  BOOST_TEST(flushed.find("median of 21 calls") != std::string::npos, flushed);
  BOOST_TEST(flushed.find("2x L2") != std::string::npos, flushed);
}
