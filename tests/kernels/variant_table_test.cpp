// The CPU table of variants (variant_arithmetic.h) and the CUDA registry
// (gemv_registry.h) name the same variants with the same arithmetic, and
// both match the default policy's enums. Needs no GPU: the registry is data.
#define BOOST_TEST_MODULE variant_table
#include <boost/test/unit_test.hpp>

#include "kpolicy/kernels/gemv_registry.h"
#include "kpolicy/kernels/variant_arithmetic.h"

namespace kpolicy::kernels {
namespace {

BOOST_AUTO_TEST_CASE(cuda_registry_and_cpu_table_agree) {
  size_t registered = 0;
  for (const gpu::GemvOp op : {gpu::GemvOp::kQ4K, gpu::GemvOp::kQ6K}) {
    for (const gpu::GemvVariant& v : gpu::GemvVariants(op)) {
      ++registered;
      const VariantArithmetic* cpu = FindVariantArithmetic(gpu::GemvOpName(op), v.name);
      BOOST_REQUIRE_MESSAGE(cpu, std::string(v.name) << " is in the CUDA registry but not the CPU table");
      BOOST_TEST((cpu->arithmetic == Arithmetic::kDp4aQ8_1) == v.quantizes_activations, v.name);
    }
  }
  BOOST_TEST(registered == GemvVariantTable().size());
}

BOOST_AUTO_TEST_CASE(names_are_the_default_policys_enum_members) {
  std::vector<std::string_view> q4k, q6k;
  for (const VariantArithmetic& v : GemvVariantTable()) (v.op == "q4k" ? q4k : q6k).push_back(v.name);
  BOOST_TEST(q4k == (std::vector<std::string_view>{"Legacy", "Wide", "Vectorized", "MwvDp4a", "HwDp4a", "Mwv"}),
             boost::test_tools::per_element());
  BOOST_TEST(q6k == (std::vector<std::string_view>{"Legacy", "Mwv", "Dp4a", "HwDp4a"}),
             boost::test_tools::per_element());
}

}  // namespace
}  // namespace kpolicy::kernels
