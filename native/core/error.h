// Engine errors: every failure the engine reports is an rnnlm::Error carrying a stable code,
// so the bindings can turn it into a JS Error with `code` set. Nothing in native/ aborts or exits.
#pragma once
#include <stdexcept>
#include <string>

namespace rnnlm {

// Stable codes, also the `code` property of the JS error.
namespace code {
inline constexpr const char* kShape = "ERR_RNNLM_SHAPE";        // wrong rank or size
inline constexpr const char* kDType = "ERR_RNNLM_DTYPE";        // f32 where i32 expected, ...
inline constexpr const char* kDevice = "ERR_RNNLM_DEVICE";      // mixed devices, unknown device
inline constexpr const char* kIndex = "ERR_RNNLM_INDEX";        // token id or row index out of range
inline constexpr const char* kArgument = "ERR_RNNLM_ARGUMENT";  // bad scalar argument (p, lr, ...)
inline constexpr const char* kOutOfMemory = "ERR_RNNLM_OOM";
inline constexpr const char* kCuda = "ERR_RNNLM_CUDA";
inline constexpr const char* kInternal = "ERR_RNNLM_INTERNAL";
}  // namespace code

class Error : public std::runtime_error {
 public:
  Error(const char* error_code, const std::string& message)
      : std::runtime_error(message), code_(error_code) {}
  const char* code() const noexcept { return code_; }

 private:
  const char* code_;
};

[[noreturn]] inline void fail(const char* error_code, const std::string& message) {
  throw Error(error_code, message);
}

#define RNNLM_CHECK(cond, error_code, message) \
  do {                                         \
    if (!(cond)) ::rnnlm::fail(error_code, message); \
  } while (0)

}  // namespace rnnlm
