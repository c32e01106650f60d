// See blas_runtime.h. Compiled only in RNNLM_BLAS=RUNTIME builds (cmake/blas.cmake).
#if defined(RNNLM_BLAS_RUNTIME)
#include "blas_runtime.h"

#include <dlfcn.h>

#include <cstdlib>
#include <sstream>
#include <vector>

namespace rnnlm::cpu {

namespace {

const char* const kCandidates[] = {"libopenblas.so.0", "libopenblas.so", "libcblas.so.3",
                                   "libblas.so.3"};

// "OpenBLAS 0.3.21 (pthreads)" from openblas_get_config ("OpenBLAS 0.3.21 DYNAMIC_ARCH ...")
// and openblas_get_parallel, as the linked build reports it (gemm.cpp).
std::string openblas_name(void* handle) {
  using Config = char* (*)();
  using Parallel = int (*)();
  const auto config = reinterpret_cast<Config>(dlsym(handle, "openblas_get_config"));
  if (config == nullptr) return "CBLAS";
  std::istringstream words(config());
  std::string product, version;
  words >> product >> version;
  std::string name = product + (version.empty() ? "" : " " + version);
  const auto parallel = reinterpret_cast<Parallel>(dlsym(handle, "openblas_get_parallel"));
  if (parallel != nullptr) {
    switch (parallel()) {
      case 0: return name + " (sequential)";
      case 1: return name + " (pthreads)";
      default: return name + " (OpenMP)";
    }
  }
  return name;
}

// Opens `file` and takes its cblas_sgemm; on failure says why in `why` and returns false.
bool try_open(const std::string& file, RuntimeBlas& out, std::string& why) {
  void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* err = dlerror();
    why = file + ": " + (err != nullptr ? err : "not found");
    return false;
  }
  auto sgemm = reinterpret_cast<RuntimeBlas::Sgemm>(dlsym(handle, "cblas_sgemm"));
  if (sgemm == nullptr) {
    why = file + ": loads but has no cblas_sgemm";
    dlclose(handle);
    return false;
  }
  out.sgemm = sgemm;
  out.set_num_threads =
      reinterpret_cast<void (*)(int)>(dlsym(handle, "openblas_set_num_threads"));
  out.name = openblas_name(handle);
  Dl_info where{};
  out.path = dladdr(reinterpret_cast<void*>(sgemm), &where) != 0 && where.dli_fname != nullptr
                 ? where.dli_fname
                 : file;
  return true;  // the handle stays open for the life of the process
}

RuntimeBlas load() {
  RuntimeBlas blas;
  const char* env = std::getenv("RNNLM_BLAS_LIBRARY");
  if (env != nullptr && *env != '\0') {
    const std::string wanted = env;
    if (wanted == "none") {
      blas.reason = "RNNLM_BLAS_LIBRARY=none: the built-in GEMM";
      return blas;
    }
    std::string why;
    if (try_open(wanted, blas, why)) {
      blas.reason = "RNNLM_BLAS_LIBRARY=" + wanted;
    } else {
      blas.reason = "RNNLM_BLAS_LIBRARY did not give a CBLAS (" + why + "): the built-in GEMM";
    }
    return blas;
  }
  std::vector<std::string> failures;
  for (const char* file : kCandidates) {
    std::string why;
    if (try_open(file, blas, why)) {
      blas.reason = std::string("found with dlopen: ") + file +
                    " is the first of libopenblas.so.0, libopenblas.so, libcblas.so.3, "
                    "libblas.so.3 that loads and exports cblas_sgemm; RNNLM_BLAS_LIBRARY overrides";
      return blas;
    }
    failures.push_back(why);
  }
  blas.reason = "no CBLAS found with dlopen (";
  for (size_t i = 0; i < failures.size(); ++i) blas.reason += (i ? "; " : "") + failures[i];
  blas.reason += "): the built-in GEMM (install libopenblas0 or set RNNLM_BLAS_LIBRARY)";
  return blas;
}

}  // namespace

const RuntimeBlas& runtime_blas() {
  static const RuntimeBlas blas = load();
  return blas;
}

}  // namespace rnnlm::cpu
#endif
