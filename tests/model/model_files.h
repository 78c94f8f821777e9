// Where the model tests find the real models of tools/fetch_models.sh:
// $KPOLICY_MODEL_DIR. Test-only; header-only.
#ifndef KPOLICY_TESTS_MODEL_MODEL_FILES_H_
#define KPOLICY_TESTS_MODEL_MODEL_FILES_H_

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace kpolicy::model {

// $KPOLICY_MODEL_DIR/name; fails the test, saying what to run, when the
// variable is unset or the file is missing.
inline std::string ModelPath(const std::string& name) {
  const char* dir = std::getenv("KPOLICY_MODEL_DIR");
  BOOST_REQUIRE_MESSAGE(dir != nullptr && *dir != 0,
                        "KPOLICY_MODEL_DIR is not set: run tools/fetch_models.sh and set "
                        "KPOLICY_MODEL_DIR to its folder (default ~/.cache/kpolicy/models)");
  const std::string path = (std::filesystem::path(dir) / name).string();
  BOOST_REQUIRE_MESSAGE(std::filesystem::exists(path), path + " is missing: run tools/fetch_models.sh " + dir);
  return path;
}

}  // namespace kpolicy::model

#endif  // KPOLICY_TESTS_MODEL_MODEL_FILES_H_
