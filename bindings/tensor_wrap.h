// NativeTensor: the JS handle of one engine tensor. A handle owns a reference to the tensor's
// storage until dispose() (deterministic release) or garbage collection (the backstop); reshape
// views are separate handles sharing the storage, which goes when the last reference does.
//
// The handle is a plain JS object carrying a type tag and an napi_wrap'ed native part. dispose()
// removes the wrap and frees the native part at once, so a synchronous training loop that
// disposes its tensors leaves nothing for finalizers (which Node runs only between event-loop
// turns). A tagged object without a wrap is a disposed handle; any use of it throws
// ERR_RNNLM_DISPOSED.
#pragma once
#include <napi.h>

#include <cstdint>

#include "core/tensor.h"

namespace rnnlm::bindings {

class NativeTensor {
 public:
  enum class Lookup { kNotATensor, kDisposed, kLive };

  static void Init(Napi::Env env, Napi::Object exports);
  // Wraps an engine tensor in a new JS handle. `tensor` must be defined.
  static Napi::Object Wrap(Napi::Env env, Tensor tensor);
  // Wraps, or returns null for an undefined (absent optional) tensor.
  static Napi::Value WrapOptional(Napi::Env env, Tensor tensor);
  // What `value` is; for a live handle, copies its tensor into `*out`. The type tag decides, so
  // a look-alike JS object is never taken for a tensor.
  static Lookup Find(const Napi::Value& value, Tensor* out);
  // Native parts of handles not yet disposed or finalized.
  static int64_t live_handles();
};

}  // namespace rnnlm::bindings
