// One recurrent layer's results between JS and the engine, for the layer op (ops_layers.cpp) and
// autoregressive decoding (ops_decode.cpp), which returns and takes back the same per-layer objects.
#pragma once
#include <napi.h>

#include <string>

#include "core/backend.h"

namespace rnnlm::bindings {

// {y, hN, cN | null, workspace}
Napi::Object LayerForwardToJs(Napi::Env env, const LayerForward& forward);
// The object above; `name` (e.g. "forward", "forward.layers[i]") prefixes the field in errors.
LayerForward LayerForwardFromJs(const Napi::Value& value, const std::string& name);
// {dx (with_dx only), dh0, dc0 | null, dwIh, dwHh, dbIh | null, dbHh | null}
Napi::Object LayerGradientsToJs(Napi::Env env, const LayerGradients& g, bool with_dx);

}  // namespace rnnlm::bindings
