// JS error construction for the bindings (see errors.h).
#include "errors.h"

namespace rnnlm::bindings {

Napi::Error MakeError(Napi::Env env, const char* code, const std::string& message,
                      bool type_error) {
  Napi::Error error = type_error ? Napi::TypeError::New(env, message) : Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error;
}

void ThrowArgument(Napi::Env env, const std::string& message) {
  throw MakeError(env, rnnlm::code::kArgument, message, /*type_error=*/true);
}

void ThrowCoded(Napi::Env env, const char* code, const std::string& message) {
  throw MakeError(env, code, message);
}

}  // namespace rnnlm::bindings
