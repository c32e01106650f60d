// The addon's entry point: registers the NativeTensor class and every function group.
#include <napi.h>

#include "errors.h"
#include "exports.h"
#include "tensor_wrap.h"

namespace rnnlm::bindings {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  NativeTensor::Init(env, exports);
  RegisterTensorOps(env, exports);
  RegisterLayerOps(env, exports);
  RegisterOptimOps(env, exports);
  RegisterDecodeOps(env, exports);
  RegisterRuntime(env, exports);
  RegisterDistributed(env, exports);
  return exports;
}

}  // namespace rnnlm::bindings

// NODE_API_MODULE pastes the function name into an identifier, so it needs an unqualified name.
static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  return rnnlm::bindings::Init(env, exports);
}

NODE_API_MODULE(rnnlm, InitAddon)
