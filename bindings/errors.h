// Error mapping between the engine and JavaScript. Every binding entry point runs its body through
// Guard(), so no C++ exception ever unwinds into Node: engine errors become JS Errors carrying the
// engine's stable `code`, argument mistakes become TypeErrors with ERR_RNNLM_ARGUMENT, anything
// else becomes ERR_RNNLM_INTERNAL.
#pragma once
#include <napi.h>

#include <exception>
#include <new>
#include <string>

#include "core/error.h"

namespace rnnlm::bindings {

// Codes that only the bindings raise (the engine's own codes live in core/error.h).
inline constexpr const char* kDisposedCode = "ERR_RNNLM_DISPOSED";

// Builds a JS Error (or TypeError) with `code` set, without throwing it.
Napi::Error MakeError(Napi::Env env, const char* code, const std::string& message,
                      bool type_error = false);

// Throws (as a C++ exception that Guard turns into a JS exception) a TypeError with code
// ERR_RNNLM_ARGUMENT; used for JS values of the wrong type.
[[noreturn]] void ThrowArgument(Napi::Env env, const std::string& message);
[[noreturn]] void ThrowCoded(Napi::Env env, const char* code, const std::string& message);

// Raises a JS exception, swallowing a failure to do so: a worker thread being terminated can no
// longer create objects, and then nothing may unwind into Node (std::terminate would end the
// process); the terminating thread runs no more JS anyway.
template <typename Raise>
void RaiseQuietly(Raise&& raise) noexcept {
  try {
    raise();
  } catch (...) {
  }
}

// Converts whatever `body` throws into a pending JS exception and returns undefined then.
template <typename Body>
Napi::Value Guard(Napi::Env env, Body&& body) {
  try {
    return body();
  } catch (const Napi::Error& e) {
    // Already a JS error (ours, or a JS exception raised while reading an argument).
    RaiseQuietly([&] { e.ThrowAsJavaScriptException(); });
  } catch (const rnnlm::Error& e) {
    RaiseQuietly([&] { MakeError(env, e.code(), e.what()).ThrowAsJavaScriptException(); });
  } catch (const std::bad_alloc&) {
    RaiseQuietly([&] { MakeError(env, rnnlm::code::kOutOfMemory, "out of host memory").ThrowAsJavaScriptException(); });
  } catch (const std::exception& e) {
    RaiseQuietly([&] { MakeError(env, rnnlm::code::kInternal, std::string("internal error: ") + e.what()).ThrowAsJavaScriptException(); });
  } catch (...) {
    RaiseQuietly([&] { MakeError(env, rnnlm::code::kInternal, "internal error: unknown native exception").ThrowAsJavaScriptException(); });
  }
  return env.Undefined();
}

// A free function entry point wrapped in Guard; pass as Napi::Function::New(env, Safe<Fn>, name).
template <Napi::Value (*Fn)(const Napi::CallbackInfo&)>
Napi::Value Safe(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() { return Fn(info); });
}

}  // namespace rnnlm::bindings
