// Semantic checks the FlatBuffers verifier cannot make: every index in range,
// and each subgraph's ops form a DAG. Throws sealite::Error naming the place.
#pragma once
#include <string>

#include "tflite/schema.h"

namespace sealite::tfl {
void validate(const ModelT& model, const std::string& what = "model");
}
