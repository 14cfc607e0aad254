// libFuzzer entry: any byte string is opened as a checkpoint (torch zip or
// safetensors, chosen by magic bytes) and every tensor is converted to float.
// CRC checks are off so mutations inside archive entries reach the unpickler;
// the raw input is also fed to the unpickler directly. Only sealite::Error may
// escape; anything else (crash, sanitizer report, other exception) is a finding.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "checkpoint/pickle.h"
#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  volatile float sink = 0;
  try {
    sealite::ckpt::OpenOptions options;
    options.verify_crc = false;
    auto ck = sealite::ckpt::Checkpoint::from_memory(std::vector<uint8_t>(data, data + size), "fuzz", options);
    for (const auto& key : ck.keys()) {
      const auto& t = ck.at(key);
      for (float x : ck.get(key, t.shape)) sink = sink + x;
    }
  } catch (const sealite::Error&) {
  }
  try {
    auto doc = sealite::ckpt::pickle::unpickle(std::span<const uint8_t>(data, size), "fuzz");
    sink = sink + static_cast<float>(doc.root().kind);
  } catch (const sealite::Error&) {
  }
  return 0;
}
